"""The rich console tables are printed on: the terminal's width on a terminal; in a CI
log or a pipe, wide enough that no row of ours wraps (rich assumes 80 columns there)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich costs start-up time; imported where a table is drawn
    from rich.console import Console

UNWRAPPED = 200  # columns: longer than any row of ours (ids, package paths, fixes)


def table_console(minimum: int = 120) -> Console:
    from rich.console import Console

    if sys.stdout.isatty():
        return Console(width=max(Console().width, minimum))
    return Console(width=UNWRAPPED)
