"""What a command line selects: combinations of the matrix, plugin targets, services.

The front ends turn their flags into one :class:`Choice` (or hand over a
:class:`Combination` they already have, as the nox sessions do); it is resolved here,
once, against the config. A selector that matches nothing is a UsageError that lists
what does exist, so a typo in ``--type`` never builds nothing in silence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from plugin_builder.combination import Combination
from plugin_builder.config import Config, PluginTarget, PluginType, did_you_mean
from plugin_builder.errors import UsageError


@dataclass(frozen=True)
class Choice:
    """``--go/--libc/--arch`` (each None when not given) and ``--all``."""

    go: str | None = None
    libc: str | None = None
    arch: str | None = None
    every: bool = False
    exact: Combination | None = None  # a combination chosen whole (a nox session's)

    @classmethod
    def of(cls, choice: Choice | Combination | None) -> Choice:
        if isinstance(choice, Combination):
            return cls(exact=choice)
        return choice or cls()

    def resolve(self, config: Config) -> list[Combination]:
        """``--all`` with optional filters; otherwise the default combination with overrides."""
        matrix = config.matrix
        if self.exact is not None:
            chosen = [self.exact] if self.exact in matrix.combinations else []
        elif self.every:
            chosen = [c for c in matrix.combinations if self._admits(c)]
        else:
            default = matrix.default
            wanted = Combination(self.go or default.go, self.libc or default.libc,
                                 self.arch or default.arch)
            chosen = [wanted] if wanted in matrix.combinations else []
        if not chosen:
            known = ", ".join(c.id for c in matrix.combinations)
            raise UsageError(f"{self._flags()} matches no combination of the matrix in "
                             f"{config.path.name}", fix=f"the combinations are: {known}")
        return chosen

    def _admits(self, combination: Combination) -> bool:
        return all(wanted in (None, actual) for wanted, actual in (
            (self.go, combination.go), (self.libc, combination.libc),
            (self.arch, combination.arch)))

    def _flags(self) -> str:
        if self.exact is not None:
            return self.exact.id
        return " ".join(f"--{k} {v}" for k, v in
                        (("go", self.go), ("libc", self.libc), ("arch", self.arch)) if v)


def combination_by_id(config: Config, identifier: str) -> Combination:
    for combination in config.matrix.combinations:
        if combination.id == identifier:
            return combination
    raise UsageError(f"'{identifier}' is not a combination of the matrix",
                     fix=known_names_fix(identifier, [c.id for c in config.matrix.combinations],
                                         "combinations"))


def plugin_type_named(config: Config, name: str) -> PluginType:
    if name not in config.plugin_types:
        raise UsageError(f"--type {name}: no such plugin type",
                         fix=known_names_fix(name, config.plugin_types, "types"))
    return config.plugin_types[name]


def plugins_selected(config: Config, *, type_: str | None = None,
                     name: str | None = None) -> list[PluginTarget]:
    """Targets of one type (all types when None), optionally one name."""
    if type_ is not None:
        plugin_type_named(config, type_)
    of_type = [p for p in config.plugins if type_ in (None, p.type)]
    chosen = [p for p in of_type if name in (None, p.name)]
    if not chosen:
        known = ", ".join(p.id for p in of_type) or "none"
        fix = f"the targets are: {known}; add a [[plugins]] entry to buildconfig.toml"
        given = " ".join(f"--{flag} {value}" for flag, value in (("type", type_), ("name", name))
                         if value is not None)
        if not given:
            raise UsageError(f"{config.path.name} declares no plugin target", fix=fix)
        raise UsageError(f"{given} matches no plugin target in {config.path.name}", fix=fix)
    return chosen


def services_named(config: Config, names: Iterable[str] | None) -> list[str]:
    """--service values (every service without one), each checked against the config."""
    names = list(names or ())
    for name in names:
        if name not in config.host.services:
            raise UsageError(f"--service {name}: no such service in {config.path.name}",
                             fix=known_names_fix(name, config.host.services, "services"))
    return names or list(config.host.services)


def known_names_fix(name: str, known: Iterable[str], what: str) -> str:
    """'did you mean X? the <what> are: a, b, c' — the fix for a name that is not known."""
    known = list(known)
    hint = did_you_mean(name, known)
    return (hint + " " if hint else "") + f"the {what} are: " + ", ".join(known)
