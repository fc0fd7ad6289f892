"""Where the tool's messages point: sections of docs/troubleshooting.md.

Every error names the section of its class (``see: docs/troubleshooting.md#<code>``),
every verify finding the section of its rule. The anchors are made from the names here,
so a message and the page cannot drift apart (tests/unit/test_catalogue.py checks it).

The page ships with the tool: ``docs/`` is a folder of the installed package (in the
wheel as in this repository, where ``src/plugin_builder/docs`` links to ``docs/``), so
``docs/troubleshooting.md`` names the same file relative to the package and to the
repository, and :func:`see` adds the absolute path of the copy that is installed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

PAGE = "docs/troubleshooting.md"  # relative to the package folder (and the repository)
CONFIGURATION = "docs/configuration.md"
PACKAGE_DIR = Path(__file__).resolve().parent


def installed(page: str = PAGE) -> Path:
    """The absolute path of a shipped page (``PAGE``, ``CONFIGURATION``) in this install."""
    return PACKAGE_DIR / page


def code(error_class: type | str) -> str:
    """The stable anchor of an error class: ConfigError -> config-error."""
    name = error_class if isinstance(error_class, str) else error_class.__name__
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name.lstrip("_")).lower()


def see(error_class: type | str) -> str:
    """``docs/troubleshooting.md#config-error (/.../plugin_builder/docs/troubleshooting.md)``:
    the section, then the file it is in, wherever the tool is installed."""
    return sections([code(error_class)])


def sections(anchors: Iterable[str]) -> str:
    """Several sections of the page, then the page's installed path once."""
    named = "  ".join(f"{PAGE}#{anchor}" for anchor in anchors)
    return f"{named} ({installed()})"


def rule_anchor(rule: str) -> str:
    return f"rule-{rule}"
