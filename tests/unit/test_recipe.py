"""recipe.py: what a released host binary records, and what it cannot give."""

from __future__ import annotations

import pytest

from plugin_builder import recipe as recipes
from plugin_builder.errors import BinaryError

from .elffiles import ET_EXEC, STB_GLOBAL, go_buildinfo, symbol_sections, write_elf

RELEASED = ("path\texample.com/released/cmd/gateway\n"
            "mod\texample.com/released\tv1.0.0\th1:main=\n"
            "dep\texample.com/mid\tv1.0.0\th1:mid=\n"
            "dep\texample.com/otel\tv1.2.0\t\n=>\texample.com/otel\tv1.1.0\th1:otel=\n"
            "build\t-buildmode=exe\nbuild\t-trimpath=true\nbuild\t-tags=goplugin\n"
            "build\tCGO_ENABLED=1\nbuild\tGOARCH=amd64\nbuild\tGOOS=linux\nbuild\tGOAMD64=v3\n")


def _host(tmp_path, modinfo: str = RELEASED):
    path = tmp_path / "gateway"
    write_elf(path, [*symbol_sections([("main.main", STB_GLOBAL)]), go_buildinfo(modinfo)],
              elf_type=ET_EXEC, interpreter="/lib64/ld-linux-x86-64.so.2")
    return path


def test_a_released_binary_gives_its_recipe_and_the_file_reads_back(tmp_path):
    recipe = recipes.from_binary(_host(tmp_path))
    assert recipe.reproducible, recipe.refusals
    assert recipe.combination.id == "go1.26.8-glibc-amd64"
    assert recipe.flags == ["-trimpath", "-tags=goplugin"]
    assert dict(recipe.env) == {"GOAMD64": "v3"}
    assert recipe.sum_lines() == ["example.com/mid v1.0.0 h1:mid=",
                                  "example.com/otel v1.1.0 h1:otel=",
                                  "example.com/released v1.0.0 h1:main="]
    assert "example.com/otel v1.2.0 => example.com/otel v1.1.0" in recipe.text()
    assert recipes.from_json(recipe.to_json(), "r.json") == recipe


@pytest.mark.parametrize("change, reason", [
    (("build\t-trimpath=true\n", ""), "built without -trimpath"),
    (("v1.0.0\th1:main=", "(devel)\t"), "recorded as (devel)"),
    (("v1.0.0\th1:main=", "v1.0.0\t"), "carries no module sum"),
    (("v1.0.0\th1:main=", "v1.0.0+dirty\th1:main="), "modified checkout"),
    (("example.com/otel\tv1.1.0\th1:otel=", "../otel\t(devel)\t"),
     "module example.com/otel is replaced by the folder ../otel"),
    (("CGO_ENABLED=1", "CGO_ENABLED=0"), "CGO_ENABLED=0"),
])
def test_what_a_binary_cannot_give_is_refused_with_the_reason(tmp_path, change, reason):
    recipe = recipes.from_binary(_host(tmp_path, RELEASED.replace(*change)))
    assert any(reason in refusal for refusal in recipe.refusals), recipe.refusals


def test_a_file_that_is_no_recipe_is_a_binary_error(tmp_path):
    (tmp_path / "r.json").write_text('{"schema": "other"}')
    with pytest.raises(BinaryError, match="not a recipe plugin-builder can read"):
        recipes.read(tmp_path / "r.json")


def test_a_released_hosts_loader_requires_its_build_list_with_its_replacements():
    """verify's stand-in loader of a released host resolves declared types in the host's
    own build list: every recorded module at its version, each replacement said again."""
    from plugin_builder.recipe import Dependency, Recipe
    from plugin_builder.released.workspace import loader_gomod

    recipe = Recipe(
        go_version="go1.26.6", libc="glibc", arch="amd64", interpreter="/lib64/ld.so",
        package="github.com/krakend/krakend-ce/v2/cmd/krakend-ce",
        main=Dependency("github.com/krakend/krakend-ce/v2", "v2.0.0", "h1:main="),
        deps=(Dependency("github.com/luraproject/lura/v2", "v2.0.0", "h1:lura="),
              Dependency("example.com/otel", "v1.2.0", "h1:a=", "example.com/otel",
                         "v1.1.0", "h1:b=")))
    assert loader_gomod(recipe) == (
        "module plugin-builder.dev/loader\n\ngo 1.26.6\n\nrequire (\n"
        "\tgithub.com/krakend/krakend-ce/v2 v2.0.0\n"
        "\tgithub.com/luraproject/lura/v2 v2.0.0\n"
        "\texample.com/otel v1.2.0\n)\n\n"
        "replace example.com/otel v1.2.0 => example.com/otel v1.1.0\n")
