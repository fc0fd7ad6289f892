"""Command lines as the go command reads them from one string (cmd/internal/quoted).

``GOCACHEPROG``, ``-ldflags`` and ``CC`` values are split by the go command on spaces,
a field that starts with a quote running to the next same quote, with no escapes. One
place splits and joins them the way Go does, so what the tool writes is read back as
exactly these words.
"""

from __future__ import annotations

from collections.abc import Sequence

_SPACE = " \t\n\r"
_QUOTES = ("'", '"')


def split(text: str) -> list[str]:
    """The words Go reads from ``text``; ValueError for an unterminated quote."""
    words: list[str] = []
    rest = text
    while rest := rest.lstrip(_SPACE):
        if rest[0] in _QUOTES:
            end = rest.find(rest[0], 1)
            if end < 0:
                raise ValueError(f"unterminated {rest[0]} string")
            words.append(rest[1:end])
            rest = rest[end + 1:]
            continue
        end = next((i for i, char in enumerate(rest) if char in _SPACE), len(rest))
        words.append(rest[:end])
        rest = rest[end:]
    return words


def field(word: str) -> str:
    """One word as a field Go splits back into that word: bare when it holds no space and
    starts with no quote (a quote further inside is literal), else in a quote it does not
    hold; ValueError for a word with a space and both quotes."""
    if word and not any(char in _SPACE for char in word) and not word.startswith(_QUOTES):
        return word
    quote = next((q for q in _QUOTES if q not in word), None)
    if quote is None:
        raise ValueError(f"{word!r} holds a space and both quotes")
    return f"{quote}{word}{quote}"


def join(words: Sequence[str]) -> str:
    """The string Go splits into exactly ``words``."""
    return " ".join(field(word) for word in words)
