"""Where the tool's messages point: sections of docs/troubleshooting.md.

Every error names the section of its class (``see: docs/troubleshooting.md#<code>``),
every verify finding the section of its rule. The anchors are made from the names here,
so a message and the page cannot drift apart (tests/unit/test_catalogue.py checks it).
"""

from __future__ import annotations

import re

PAGE = "docs/troubleshooting.md"


def code(error_class: type | str) -> str:
    """The stable anchor of an error class: ConfigError -> config-error."""
    name = error_class if isinstance(error_class, str) else error_class.__name__
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name.lstrip("_")).lower()


def see(error_class: type | str) -> str:
    return f"{PAGE}#{code(error_class)}"


def rule_anchor(rule: str) -> str:
    return f"rule-{rule}"
