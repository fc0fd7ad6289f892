"""host.ldflags and host.gcflags: allow-lists of the flags that are data.

Linker and compiler flags can run programs (``-extld=/elsewhere/prog``) or write files
anywhere (``-tmpdir``, ``-cpuprofile``, ``-json=0,file://...``); so a flag passes only
when it is one of the few that change what is built and nothing else.
"""

from __future__ import annotations

import re

from plugin_builder.config.parse import Context, show

_LD_OPTION = (r"(?:--build-id(?:=(?:none|md5|sha1|uuid|0x[0-9a-fA-F]+))?"
              r"|-z,(?:relro|now|noexecstack|defs)|--as-needed|--no-as-needed|-O[0-2]"
              r"|--hash-style=(?:gnu|sysv|both)|--compress-debug-sections=(?:none|zlib|zstd)"
              r"|--gc-sections|--strip-debug|--strip-all)")
# name -> the values it may have ("" : none, a plain flag)
LINKER_FLAGS = {
    "s": r"|true|false", "w": r"|true|false", "linkmode": "external",
    "extldflags": rf"-Wl(?:,{_LD_OPTION})+", "buildid": r"[A-Za-z0-9._+/=-]*",
    "compressdwarf": "true|false", "B": r"gobuildid|0x[0-9a-fA-F]+",
}
COMPILER_FLAGS = {
    "N": "", "l": r"|[0-9]", "B": "", "C": "", "S": "", "m": r"|[0-9]", "c": "[0-9]+",
    "dwarf": "true|false", "spectre": r"(?:all|index|ret)(?:,(?:all|index|ret))*",
    "d": r"checkptr(?:=[0-2])?",
}
_ALLOWED_LD = ("-s, -w, -linkmode=external, -extldflags=-Wl,<--build-id, -z,relro, -z,now, "
               "--as-needed, -O1, --hash-style=gnu, --compress-debug-sections=zlib ...>, "
               "-buildid=ID, -compressdwarf=false, -B=gobuildid")
_ALLOWED_GC = ("-N, -l, -B, -C, -S, -m, -m=2, -c=4, -dwarf=false, -spectre=all, -d=checkptr, "
               "after an optional package pattern (\"all=-N -l\")")
_PATTERN_RE = re.compile(r"\A[A-Za-z0-9_.~+/][A-Za-z0-9_.~+/-]*\Z")


def ldflags(ctx: Context, key: str, flags: tuple[str, ...]) -> tuple[str, ...]:
    dynamic = "plugins need a dynamically linked cgo host"
    for index, flag in enumerate(flags):
        item = f"{key}[{index}]"
        if not re.fullmatch(r"-[^\s'\"]+", flag):
            raise ctx.error(item, f"{show(flag)} is not one linker flag",
                            fix='each item is one word starting with \'-\', a value after '
                                '\'=\': ldflags = ["-s", "-w", "-linkmode=external"]')
        name, has_value, value = flag.lstrip("-").partition("=")
        written = value if has_value else "".join(flags[index + 1:index + 2])
        if name == "X":
            raise ctx.error(item, f"{show(flag)} sets a variable",
                            fix="stamp variables in [host.stamp] (\"pkg.Var\" = \"{version}\"), "
                                "which also puts them in the build's inputs")
        if name == "d" or (name == "extldflags" and "-static" in written):
            raise ctx.error(item, f"{show(flag)} links the host statically: {dynamic}",
                            fix="remove it; the host must stay dynamically linked")
        if name == "linkmode" and written == "internal":
            raise ctx.error(item, f"{show(flag)} links without the C linker: {dynamic}",
                            fix="remove it (the default external link mode is what plugins "
                                "need)")
        if not _allowed(LINKER_FLAGS, flag.lstrip("-")):
            raise ctx.error(item, f"{show(flag)} is not an allowed linker flag",
                            fix=f"use only {_ALLOWED_LD}; the others can run programs or "
                                "write files (-extld, -tmpdir, -cpuprofile ...)")
    return flags


def gcflags(ctx: Context, key: str, value: str) -> str:
    """[pattern=]flags, split as the go command does; each flag allow-listed."""
    pattern, has_pattern, flags = value.partition("=") if value[:1] not in ("", "-") \
        else ("", "", value)
    words = go_split(flags)
    if words is None:
        raise ctx.error(key, f"{show(value)} has an unterminated quote",
                        fix="close the quote, e.g. gcflags = \"all=-N -l\"")
    refused = [pattern] if pattern and not (has_pattern and _PATTERN_RE.fullmatch(pattern)) \
        else []
    refused += [word for word in words if not word.startswith("-")
                or not _allowed(COMPILER_FLAGS, word[1:])]
    if refused:
        raise ctx.error(key, f"{show(refused[0])} is not an allowed compiler flag",
                        fix=f"use only {_ALLOWED_GC}; the others can run programs or "
                            "write files (-cpuprofile, -json=0,file://...)")
    return value


def _allowed(table: dict[str, str], flag: str) -> bool:
    """Whether "name" or "name=value" (dashes stripped) is a flag of the table, with a
    value it may have."""
    name, equals, value = flag.partition("=")
    return name in table and not (equals and not value) \
        and re.fullmatch(table[name], value) is not None


def linker_word(ctx: Context, key: str, word: str) -> None:
    # The go command splits -ldflags on spaces and takes a quoted word verbatim
    # (cmd/internal/quoted): a word with a space can be quoted with ' or ", not both.
    if any(c.isspace() for c in word) and "'" in word and '"' in word:
        raise ctx.error(key, f"renders to {show(word)}, which holds a space and both "
                             "kinds of quote, so the go command cannot pass it",
                        fix="drop the ' or the \" from the value (or from host.version)")


def go_split(text: str) -> list[str] | None:
    """Split flags as the go command does (cmd/internal/quoted.Split): on spaces, with a
    word that starts with ' or " taken to its closing quote; None: a quote is unclosed."""
    words: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            index += 1
        elif char in "'\"":
            end = text.find(char, index + 1)
            if end < 0:
                return None
            words.append(text[index + 1:end])
            index = end + 1
        else:
            end = index
            while end < len(text) and not text[end].isspace():
                end += 1
            words.append(text[index:end])
            index = end
    return words
