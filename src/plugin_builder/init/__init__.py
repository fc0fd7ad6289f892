"""`plugin-builder init`: a project folder for a host you already have.

    plugin-builder init --host ../myhost --preset dragonfly [--go 1.26.6] [--libc glibc,musl]

Three steps, each a module of its own:

- :mod:`.planning`: the flags (:mod:`.options`), the preset (:mod:`.presets`: a host
  family's services, plugin types, contracts and marks, as TOML) and what the host module
  says (:mod:`.hostscan`, :mod:`.binaries`, :mod:`.golist`) make a :class:`Plan`; nothing
  is written or printed;
- :mod:`.render`: the plan as files: ``buildconfig.toml`` (every key explained, or only
  those set), ``tasks.py`` and ``noxfile.py`` (the tool's own task collection and nox
  sessions), ``.gitignore``, the preset's plugin templates and, for Bifrost,
  ``plugins.json``;
- :mod:`.land`: writes them; an existing file is never replaced without ``force``.

In a project that has its buildconfig.toml, ``--go``, ``--libc`` and ``--arch`` add to
its matrix in place instead (:mod:`.update`).
"""

from __future__ import annotations

from plugin_builder.init.land import Outcome, write
from plugin_builder.init.options import DEFAULT_GO, Options
from plugin_builder.init.planning import Plan, guess_preset, plan
from plugin_builder.init.render import NOXFILE_PY, Rendered

__all__ = ["DEFAULT_GO", "NOXFILE_PY", "Options", "Outcome", "Plan", "Rendered",
           "guess_preset", "plan", "write"]
