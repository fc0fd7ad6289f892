"""What a command line selects: combinations of the matrix and plugin targets.

A selector that matches nothing is a UsageError that lists what does exist, so a typo
in ``--type`` never builds nothing in silence.
"""

from __future__ import annotations

from plugin_builder.combination import Combination
from plugin_builder.config import Config, PluginTarget, PluginType, did_you_mean
from plugin_builder.errors import UsageError


def combinations(config: Config, *, go: str | None = None, libc: str | None = None,
                 arch: str | None = None, every: bool = False) -> list[Combination]:
    """``--all`` with optional filters; otherwise the default combination with overrides."""
    matrix = config.matrix
    if every:
        chosen = [c for c in matrix.combinations
                  if (go in (None, c.go)) and (libc in (None, c.libc)) and (arch in (None, c.arch))]
    else:
        default = matrix.default
        chosen = [Combination(go or default.go, libc or default.libc, arch or default.arch)]
        chosen = [c for c in chosen if c in matrix.combinations]
    if not chosen:
        asked = " ".join(f"--{k} {v}" for k, v in (("go", go), ("libc", libc), ("arch", arch)) if v)
        known = ", ".join(c.id for c in matrix.combinations)
        raise UsageError(f"{asked} matches no combination of the matrix in {config.path.name}",
                         fix=f"the combinations are: {known}")
    return chosen


def combination_by_id(config: Config, identifier: str) -> Combination:
    for combination in config.matrix.combinations:
        if combination.id == identifier:
            return combination
    known = [c.id for c in config.matrix.combinations]
    hint = did_you_mean(identifier, known)
    raise UsageError(f"'{identifier}' is not a combination of the matrix",
                     fix=(hint + " " if hint else "") + "the combinations are: " + ", ".join(known))


def plugin_type(config: Config, name: str) -> PluginType:
    if name not in config.plugin_types:
        hint = did_you_mean(name, config.plugin_types)
        raise UsageError(f"--type {name}: no such plugin type",
                         fix=(hint + " " if hint else "")
                         + "the types are: " + ", ".join(config.plugin_types))
    return config.plugin_types[name]


def plugins(config: Config, *, type_: str | None = None,
            name: str | None = None) -> list[PluginTarget]:
    """Targets of one type (all types when None), optionally one name."""
    if type_ is not None:
        plugin_type(config, type_)
    of_type = [p for p in config.plugins if type_ in (None, p.type)]
    chosen = [p for p in of_type if name in (None, p.name)]
    if not chosen:
        known = ", ".join(p.id for p in of_type) or "none"
        what = f"--type {type_} --name {name}" if name else f"--type {type_}"
        raise UsageError(f"{what} matches no plugin target in {config.path.name}",
                         fix=f"the targets are: {known}; "
                             "add a [[plugins]] entry to buildconfig.toml")
    return chosen
