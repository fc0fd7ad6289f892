"""Strings from outside (file names, target names, a program's output) made safe to print.

A file may be called ``plugins/\x1b[2J.so``: printed raw, it clears the terminal, or
rewrites the lines above it; a name with a space or a quote, pasted into a fix command,
runs something else. Every message that names such a string shows it through here:
:func:`printable` escapes control and formatting characters (``\\x1b``, ``\\u202e``),
:func:`quoted` also quotes a name the way a shell would need it.
"""

from __future__ import annotations

import os
import shlex
import unicodedata

_SAFE = "\n"  # a line break is the one control character messages are made of


def printable(text: str) -> str:
    """``text`` with every control or format character written as an escape."""
    if text.isprintable():
        return text
    return "".join(_escaped(char) for char in text)


def quoted(name: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> str:
    """A name for a message or a fix command: escaped, and quoted when a shell needs it."""
    return shlex.quote(printable(os.fsdecode(name)).replace("\n", "\\n"))


def _escaped(char: str) -> str:
    if char in _SAFE or char == "\t" or char.isprintable() or char == " ":
        return char
    if unicodedata.category(char) == "Zs":
        return char
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 \
        else f"\\U{code:08x}"
