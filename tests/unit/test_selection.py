"""selection: what --go/--libc/--arch/--all, --type/--name and --service select, and the
errors that list what exists when a selector matches nothing."""

from __future__ import annotations

import pytest

from plugin_builder import config
from plugin_builder.combination import Combination
from plugin_builder.errors import UsageError
from plugin_builder.selection import (
    Choice,
    combination_by_id,
    known_names_fix,
    plugin_type_named,
    plugins_selected,
    services_named,
)

MATRIX = ["go1.26.6-glibc-amd64", "go1.26.6-glibc-arm64", "go1.26.6-musl-amd64",
          "go1.26.6-musl-arm64", "go1.27.3-glibc-amd64", "go1.27.3-musl-amd64"]


@pytest.fixture
def loaded(project) -> config.Config:
    """The shape of the real buildconfig.toml, in a throwaway folder (tests/unit/conftest.py)."""
    return config.load(project.write())


def ids(combinations: list[Combination]) -> list[str]:
    return [c.id for c in combinations]


# -- Choice.resolve -----------------------------------------------------------------------


def test_no_flags_is_the_default_combination(loaded) -> None:
    assert ids(Choice().resolve(loaded)) == ["go1.26.6-glibc-amd64"]
    assert ids(Choice.of(None).resolve(loaded)) == ["go1.26.6-glibc-amd64"]


@pytest.mark.parametrize("flags, expected", [
    ({"libc": "musl"}, "go1.26.6-musl-amd64"),
    ({"go": "1.27.3"}, "go1.27.3-glibc-amd64"),
    ({"go": "1.27.3", "libc": "musl"}, "go1.27.3-musl-amd64"),
    ({"arch": "amd64"}, "go1.26.6-glibc-amd64"),
])
def test_flags_override_the_default_one_part_at_a_time(loaded, flags, expected) -> None:
    assert ids(Choice(**flags).resolve(loaded)) == [expected]


@pytest.mark.parametrize("flags, expected", [
    ({}, MATRIX),
    ({"libc": "musl"}, ["go1.26.6-musl-amd64", "go1.26.6-musl-arm64", "go1.27.3-musl-amd64"]),
    ({"arch": "arm64"}, ["go1.26.6-glibc-arm64", "go1.26.6-musl-arm64"]),
    ({"go": "1.27.3"}, ["go1.27.3-glibc-amd64", "go1.27.3-musl-amd64"]),
    ({"go": "1.26.6", "libc": "glibc", "arch": "amd64"}, ["go1.26.6-glibc-amd64"]),
])
def test_all_with_filters(loaded, flags, expected) -> None:
    assert ids(Choice(every=True, **flags).resolve(loaded)) == expected


def test_an_exact_combination_is_taken_whole(loaded) -> None:
    chosen = Combination("1.27.3", "musl", "amd64")
    assert Choice.of(chosen) == Choice(exact=chosen)
    assert Choice.of(chosen).resolve(loaded) == [chosen]
    choice = Choice(libc="musl")
    assert Choice.of(choice) is choice


@pytest.mark.parametrize("choice, named", [
    (Choice(go="1.25.0"), "--go 1.25.0"),
    (Choice(libc="uclibc"), "--libc uclibc"),
    (Choice(go="1.27.3", arch="arm64"), "--go 1.27.3 --arch arm64"),
    (Choice(go="1.27.3", libc="bionic"), "--go 1.27.3 --libc bionic"),
    (Choice(every=True, go="1.99.0"), "--go 1.99.0"),
    (Choice(exact=Combination("1.27.3", "glibc", "arm64")), "go1.27.3-glibc-arm64"),
])
def test_a_choice_that_matches_nothing_lists_the_combinations(loaded, choice, named) -> None:
    with pytest.raises(UsageError) as raised:
        choice.resolve(loaded)
    error = raised.value
    assert named in error.message
    assert "buildconfig.toml" in error.message
    assert error.fix == "the combinations are: " + ", ".join(MATRIX)
    assert error.return_code == 2


def test_an_excluded_combination_is_not_chosen(project) -> None:
    project.data["matrix"]["exclude"] = [{"go": "1.27.3", "libc": "musl"}]
    loaded = config.load(project.write())
    assert "go1.27.3-musl-amd64" not in ids(Choice(every=True).resolve(loaded))
    with pytest.raises(UsageError) as raised:
        Choice(go="1.27.3", libc="musl").resolve(loaded)
    assert "go1.27.3-musl-amd64" not in (raised.value.fix or "")
    with pytest.raises(UsageError):
        Choice(exact=Combination("1.27.3", "musl", "amd64")).resolve(loaded)


def test_combination_by_id(loaded) -> None:
    assert combination_by_id(loaded, "go1.27.3-musl-amd64") == \
        Combination("1.27.3", "musl", "amd64")
    with pytest.raises(UsageError) as raised:
        combination_by_id(loaded, "go1.27.3-musl-amd65")
    assert "did you mean 'go1.27.3-musl-amd64'?" in (raised.value.fix or "")
    assert ", ".join(MATRIX) in (raised.value.fix or "")


# -- plugins_selected ---------------------------------------------------------------------


def test_every_target_without_a_type(loaded) -> None:
    assert [p.id for p in plugins_selected(loaded)] == \
        ["resource/dfs", "scheduler/evaluator", "manager/searcher"]


def test_the_targets_of_one_type_and_one_name(loaded) -> None:
    assert [p.id for p in plugins_selected(loaded, type_="scheduler")] == ["scheduler/evaluator"]
    assert [p.id for p in plugins_selected(loaded, type_="manager", name="searcher")] == \
        ["manager/searcher"]
    assert [p.id for p in plugins_selected(loaded, name="dfs")] == ["resource/dfs"]


def test_an_unknown_type_suggests_the_close_one(loaded) -> None:
    with pytest.raises(UsageError) as raised:
        plugins_selected(loaded, type_="schedular")
    assert "--type schedular" in raised.value.message
    assert raised.value.fix == ("did you mean 'scheduler'? the types are: "
                                "resource, scheduler, manager")
    with pytest.raises(UsageError):
        plugin_type_named(loaded, "nothing-like-it")


def test_an_unknown_name_of_a_known_type_lists_that_types_targets(loaded) -> None:
    with pytest.raises(UsageError) as raised:
        plugins_selected(loaded, type_="scheduler", name="nope")
    assert "--type scheduler --name nope" in raised.value.message
    assert "scheduler/evaluator" in (raised.value.fix or "")
    assert "manager/searcher" not in (raised.value.fix or "")


def test_an_unknown_name_without_a_type_names_only_the_flag_given(loaded) -> None:
    """`invoke build-plugin --name nope` was given no --type: the message must not invent one."""
    with pytest.raises(UsageError) as raised:
        plugins_selected(loaded, name="nope")
    assert "--name nope" in raised.value.message
    assert "--type" not in raised.value.message, raised.value.message
    assert "None" not in raised.value.message, raised.value.message
    assert "scheduler/evaluator" in (raised.value.fix or "")


def test_a_config_without_targets_says_so_without_naming_a_type(project) -> None:
    """`invoke build-plugin` with no [[plugins]] at all: no --type was given."""
    project.data["plugins"] = []
    loaded = config.load(project.write())
    with pytest.raises(UsageError) as raised:
        plugins_selected(loaded)
    assert "None" not in raised.value.message, raised.value.message
    assert "plugin target" in raised.value.message
    assert "[[plugins]]" in (raised.value.fix or "")


def test_a_type_without_targets_says_so(project) -> None:
    project.data["plugins"] = [p for p in project.data["plugins"] if p["type"] != "manager"]
    loaded = config.load(project.write())
    with pytest.raises(UsageError) as raised:
        plugins_selected(loaded, type_="manager")
    assert "--type manager" in raised.value.message
    assert "none" in (raised.value.fix or "")


# -- services_named -----------------------------------------------------------------------


def test_no_service_is_every_service_in_config_order(loaded) -> None:
    assert services_named(loaded, None) == ["dfdaemon", "scheduler", "manager"]
    assert services_named(loaded, []) == ["dfdaemon", "scheduler", "manager"]


def test_named_services_are_checked(loaded) -> None:
    assert services_named(loaded, ["manager", "scheduler"]) == ["manager", "scheduler"]
    assert services_named(loaded, iter(["dfdaemon"])) == ["dfdaemon"]


def test_an_unknown_service_suggests_the_close_one(loaded) -> None:
    with pytest.raises(UsageError) as raised:
        services_named(loaded, ["scheduler", "schedulr"])
    assert "--service schedulr" in raised.value.message
    assert raised.value.fix == ("did you mean 'scheduler'? the services are: "
                                "dfdaemon, scheduler, manager")


# -- known_names_fix ----------------------------------------------------------------------


def test_known_names_fix_with_and_without_a_hint() -> None:
    known = ["dfdaemon", "scheduler", "manager"]
    assert known_names_fix("managr", known, "services") == \
        "did you mean 'manager'? the services are: dfdaemon, scheduler, manager"
    assert known_names_fix("zzz", known, "services") == \
        "the services are: dfdaemon, scheduler, manager"
    assert known_names_fix("x", iter(["a", "b"]), "types") == "the types are: a, b"
    assert known_names_fix("managr", {"manager": 1}, "types") == \
        "did you mean 'manager'? the types are: manager"
