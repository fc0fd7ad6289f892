"""``name_pattern`` matched in time linear in the name, whatever the pattern.

Python's ``re`` backtracks: ``(a+)+b`` against a long name tries every way to split it,
and a config that says so would hang every command. So a pattern (Python ``re`` syntax,
parsed by ``re`` itself) is compiled into an automaton (Thompson's construction) whose
states all advance together over the name: at most (states x characters) steps. What an
automaton cannot do is refused: backreferences, lookarounds, ``\\b``, atomic groups and
possessive quantifiers; and so is a pattern of more than MAX_STATES states.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any

MAX_STATES = 5000
_CATEGORIES: dict[Any, Callable[[str], bool]] = {
    sre.CATEGORY_DIGIT: str.isdecimal, sre.CATEGORY_SPACE: str.isspace,
    sre.CATEGORY_WORD: lambda c: c.isalnum() or c == "_"}
_NOT = {sre.CATEGORY_NOT_DIGIT: sre.CATEGORY_DIGIT, sre.CATEGORY_NOT_SPACE: sre.CATEGORY_SPACE,
        sre.CATEGORY_NOT_WORD: sre.CATEGORY_WORD}


class PatternError(ValueError):
    """The pattern is valid Python but needs more than an automaton can do."""


class Pattern:
    """A compiled name pattern; :meth:`fullmatch` never backtracks."""

    def __init__(self, text: str) -> None:
        parsed = _parser.parse(text)  # raises re.error, as re.compile would
        self.states: list[tuple[Any, ...]] = [("match",)]
        self.start = self._sequence(parsed, 0, bool(parsed.state.flags & re.IGNORECASE))

    def fullmatch(self, text: str) -> bool:
        current = self._closure({self.start}, 0, len(text))
        for index, char in enumerate(text):
            moved = {state[2] for state in (self.states[s] for s in current)
                     if state[0] == "char" and state[1](char)}
            current = self._closure(moved, index + 1, len(text))
        return 0 in current

    def _closure(self, states: set[int], position: int, end: int) -> set[int]:
        """The states reachable without reading a character (splits, ^ and $)."""
        seen, todo = set(), list(states)
        while todo:
            index = todo.pop()
            if index in seen:
                continue
            seen.add(index)
            state = self.states[index]
            if state[0] == "split":
                todo.extend(state[1])
            elif state[0] == "at" and position == (0 if state[1] == "begin" else end):
                todo.append(state[2])
        return seen

    def _add(self, *state: Any) -> int:
        if len(self.states) >= MAX_STATES:
            raise PatternError(f"it repeats too much: more than {MAX_STATES} states")
        self.states.append(state)
        return len(self.states) - 1

    def _sequence(self, items: Any, following: int, fold: bool) -> int:
        """The items in order, then ``following``; built from the end backwards."""
        for op, value in reversed(list(items)):
            following = self._item(op, value, following, fold)
        return following

    def _item(self, op: Any, value: Any, following: int, fold: bool) -> int:
        if op in (sre.LITERAL, sre.NOT_LITERAL, sre.ANY, sre.IN):
            return self._add("char", _test(op, value, fold), following)
        if op is sre.BRANCH:
            return self._add("split", [self._sequence(alternative, following, fold)
                                       for alternative in value[1]])
        if op is sre.SUBPATTERN:
            _, added, removed, items = value
            fold = bool((fold or added & re.IGNORECASE) and not removed & re.IGNORECASE)
            return self._sequence(items, following, fold)
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):  # lazy or greedy: the same for a whole match
            least, most, items = value
            return self._repeat(least, most, items, following, fold)
        if op is sre.AT and value in (sre.AT_BEGINNING, sre.AT_BEGINNING_STRING):
            return self._add("at", "begin", following)
        if op is sre.AT and value in (sre.AT_END, sre.AT_END_STRING):
            return self._add("at", "end", following)
        raise PatternError(f"it uses {_WHAT.get(op, str(op).lower())}")

    def _repeat(self, least: int, most: int, items: Any, following: int, fold: bool) -> int:
        if most == sre.MAXREPEAT:
            loop = self._add("split", [])
            self.states[loop] = ("split", [self._sequence(items, loop, fold), following])
            start = loop
        else:
            start = following
            for _ in range(most - least):
                start = self._add("split", [self._sequence(items, start, fold), following])
        for _ in range(least):
            start = self._sequence(items, start, fold)
        return start


_WHAT = {sre.GROUPREF: "a backreference", sre.GROUPREF_EXISTS: "a conditional group",
         sre.ASSERT: "a lookahead or lookbehind", sre.ASSERT_NOT: "a lookahead or lookbehind",
         sre.AT: "a word boundary (\\b, \\B)", sre.ATOMIC_GROUP: "an atomic group",
         sre.POSSESSIVE_REPEAT: "a possessive quantifier"}


def _test(op: Any, value: Any, fold: bool) -> Callable[[str], bool]:
    """Whether one character matches a literal, '.', or a [class]."""
    def one(char: str) -> bool:
        if op is sre.ANY:
            return char != "\n"
        if op is not sre.IN:
            return (ord(char) == value) == (op is sre.LITERAL)
        negated = any(kind is sre.NEGATE for kind, _ in value)
        return negated != any(_in_class(kind, item, char) for kind, item in value)
    if not fold:
        return one
    return lambda char: one(char) or one(char.lower()) or one(char.upper())


def _in_class(kind: Any, item: Any, char: str) -> bool:
    if kind is sre.LITERAL:
        return ord(char) == item
    if kind is sre.RANGE:
        return item[0] <= ord(char) <= item[1]
    if kind is sre.CATEGORY:
        return _CATEGORIES[_NOT.get(item, item)](char) != (item in _NOT)
    return False  # NEGATE, read by _test


@lru_cache(maxsize=64)
def compile_pattern(text: str) -> Pattern:
    return Pattern(text)
