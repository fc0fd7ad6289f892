"""The rules that decide whether the plugin is loaded at all: the host can load plugins,
dlopen accepts the file, and the host finds the symbols it looks up.

Each rule reads a :class:`~plugin_builder.verify.findings.Comparison` and yields the
findings it makes, with the error the real host shows (reproduced with Go 1.26/1.27 on
glibc and musl hosts, see tests/integration/test_inspect_real_binaries.py) and the
command that fixes it. Their order and relations are their records in
:data:`plugin_builder.verify.rules.RULES`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from plugin_builder.binary.buildinfo import BuildInfo
from plugin_builder.binary.elffacts import GLIBC, MUSL, ElfFacts
from plugin_builder.binary.side import Side
from plugin_builder.binary.verneed import read_version_needs
from plugin_builder.verify.findings import (
    DYNAMIC_LOADING_NOT_SUPPORTED,
    ERROR,
    NO_PLUGIN_MODULE_DATA,
    NOT_IMPLEMENTED,
    WARNING,
    Comparison,
    Finding,
    RuleId,
)

# The package path Go records for a plugin built from a list of .go files.
_FILE_LIST_PACKAGE = "command-line-arguments"

# glibc's library directory per GOARCH, where a glibc host finds the libc.so linker
# script that a musl plugin's bare DT_NEEDED "libc.so" resolves to.
_GLIBC_LIBDIR = {
    "amd64": "/lib/x86_64-linux-gnu",
    "arm64": "/lib/aarch64-linux-gnu",
    "386": "/lib/i386-linux-gnu",
    "arm": "/lib/arm-linux-gnueabihf",
}


# -- rules: the host can load plugins at all ---------------------------------------------


def not_a_go_host(pair: Comparison) -> Iterator[Finding]:
    """Only a Go program loads Go plugins: a host without Go build information (a C
    program, a crafted file) or a Go plugin given as the host is compared with nothing."""
    info = pair.host.buildinfo
    if info is not None and info.buildmode != "plugin":
        return
    what = ("a Go plugin, not a program" if info is not None
            else "not a Go program (it carries no Go build information)")
    yield Finding(
        rule=RuleId.NOT_A_GO_HOST,
        subject="host",
        host_value="-buildmode=plugin" if info is not None else "no Go build information",
        plugin_value='needs a Go program that imports "plugin"',
        host_error="",
        fix=pair.hint.build_host_command(pair.plugin.elf.libc, the_projects=True),
        fix_action="verify against the Go program that loads the plugins (--host), "
                   "as built with",
        summary=f"host {pair.host.path} is {what}, so it cannot load Go plugins",
    )


def host_cgo_disabled(pair: Comparison) -> Iterator[Finding]:
    info = pair.host.buildinfo
    if info is None or info.cgo_enabled is not False:
        return
    yield Finding(
        rule=RuleId.HOST_CGO_DISABLED,
        subject="CGO_ENABLED",
        host_value="0",
        plugin_value="1",
        host_error=NOT_IMPLEMENTED,
        fix=pair.hint.build_host_command(pair.plugin.elf.libc),
        fix_action="rebuild the host with cgo (hosts built by plugin-builder always have it)",
        summary="host built with CGO_ENABLED=0, which compiles plugin.Open as a stub",
    )


def host_static(pair: Comparison) -> Iterator[Finding]:
    host = pair.host.elf
    if host.is_dynamically_linked:
        return
    # Measured: a static glibc host gets through dlopen and then the Go runtime finds no
    # module data; a static musl host's dlopen refuses outright.
    crashes = host.libc == GLIBC
    error = NO_PLUGIN_MODULE_DATA if crashes else pair.dlopen_error(DYNAMIC_LOADING_NOT_SUPPORTED)
    missing = "no PT_INTERP" if host.is_dynamic else "no PT_INTERP, no dynamic section"
    yield Finding(
        rule=RuleId.HOST_STATIC,
        subject="host",
        host_value=f"static ({missing})",
        plugin_value="needs a dynamically linked host",
        host_error=error,
        fix=pair.hint.build_host_command(pair.plugin.elf.libc),
        fix_action="rebuild the host dynamically linked (no -extldflags -static) with",
        summary="host is statically linked, so it cannot dlopen plugins",
        host_crashes=crashes,
    )


# -- rules: dlopen accepts the file ------------------------------------------------------


def arch(pair: Comparison) -> Iterator[Finding]:
    host, plugin = pair.host.elf, pair.plugin.elf
    host_arch = _arch_label(host, pair.host.buildinfo)
    plugin_arch = _arch_label(plugin, pair.plugin.buildinfo)
    if (host.elf_class, host.machine) != (
        plugin.elf_class,
        plugin.machine,
    ) or host_arch != plugin_arch:
        yield Finding(
            rule=RuleId.ARCH,
            subject="GOARCH",
            host_value=host_arch,
            plugin_value=plugin_arch,
            host_error=pair.dlopen_error(_wrong_arch_error(host, plugin)),
            fix=pair.rebuild_plugin(with_arch=True),
            summary=f"plugin is {plugin_arch} ({_elf_label(plugin)}), "
            f"host is {host_arch} ({_elf_label(host)})",
        )
        return
    yield from _goamd64(pair)


def _arch_label(elf: ElfFacts, info: BuildInfo | None) -> str:
    return (info.goarch if info and info.goarch else None) or elf.goarch or elf.machine


def _elf_label(elf: ElfFacts) -> str:
    return f"ELFCLASS{elf.elf_class} {elf.machine}"


def _wrong_arch_error(host: ElfFacts, plugin: ElfFacts) -> str:
    if host.elf_class != plugin.elf_class:
        return f"{plugin.path}: wrong ELF class: ELFCLASS{plugin.elf_class}"
    # Measured: glibc skips a library of another machine as if it were not there.
    return f"{plugin.path}: cannot open shared object file: No such file or directory"


def _goamd64(pair: Comparison) -> Iterator[Finding]:
    host, plugin = pair.host.buildinfo, pair.plugin.buildinfo
    if not host or not plugin or host.goarch != "amd64" or plugin.goamd64 <= host.goamd64:
        return
    # Measured: GOAMD64 is not part of package fingerprints, so the plugin loads; but the
    # host checks the CPU only for its own level, and a plugin needing a higher one dies
    # on the first instruction the CPU lacks.
    yield Finding(
        rule=RuleId.ARCH,
        subject="GOAMD64",
        host_value=host.goamd64,
        plugin_value=plugin.goamd64,
        host_error="SIGILL: illegal instruction",
        fix=pair.rebuild_plugin(),
        fix_action=f"rebuild with GOAMD64={host.goamd64}",
        summary=f"plugin needs GOAMD64={plugin.goamd64}, host only {host.goamd64}",
        severity=WARNING,
        host_crashes=True,
    )


def libc(pair: Comparison) -> Iterator[Finding]:
    host, plugin = pair.host.elf, pair.plugin.elf
    if (
        not host.libc
        or not plugin.libc
        or host.libc == plugin.libc
        or not host.is_dynamically_linked
    ):
        return
    yield Finding(
        rule=RuleId.LIBC,
        subject="libc",
        host_value=host.libc,
        plugin_value=plugin.libc,
        host_error=pair.dlopen_error(_wrong_libc_error(host, plugin)),
        fix=pair.rebuild_plugin(),
        summary=f"plugin linked against {plugin.libc}, host against {host.libc}",
        # Measured: a musl host loads a glibc plugin (musl maps libc.so.6 onto itself) and
        # fails only once the plugin needs a glibc-only symbol. Claim no certain failure.
        severity=WARNING if host.libc == MUSL else ERROR,
    )


def _wrong_libc_error(host: ElfFacts, plugin: ElfFacts) -> str:
    if host.libc == MUSL:
        # Measured: musl resolves libc.so.6 to itself, so a glibc plugin loads until it
        # needs a symbol only glibc has.
        return f"Error relocating {plugin.path}: <glibc-only symbol>: symbol not found"
    musl_names = [name for name in plugin.needed if name.startswith("libc.musl-")]
    if musl_names:
        return f"{musl_names[0]}: cannot open shared object file: No such file or directory"
    libdir = _GLIBC_LIBDIR.get(host.goarch or "", "/lib")
    return f"{libdir}/libc.so: invalid ELF header"


def glibc_floor(pair: Comparison) -> Iterator[Finding]:
    """No glibc binary of the pair needs a newer GLIBC_x.y than the declared floor: the
    machines it ships to may have no newer glibc. Read only when a floor is declared."""
    floor = pair.glibc_floor
    if floor is None:
        return
    for role, side in (("host", pair.host), ("plugin", pair.plugin)):
        if side.elf.libc != GLIBC or not side.elf.is_dynamic:
            continue
        too_new = read_version_needs(side.path).newer_than(floor)
        if not too_new:
            continue
        first = too_new[0]
        also = _more(sorted({s.symbol for s in too_new if s.version == first.version}
                            - {first.symbol}))
        fix = pair.hint.build_host_command() if role == "host" else pair.rebuild_plugin()
        yield Finding(
            rule=RuleId.GLIBC_FLOOR,
            subject=f"{role} {os.path.basename(side.path)}",
            host_value=f"GLIBC_{floor} (the floor)",
            plugin_value=f"{first.symbol}@{first.version}",
            host_error=f"{first.library}: version `{first.version}' not found (required by "
                       f"{side.path})",
            fix=fix,
            fix_action=f"build for the floor: declare libc.<name>.glibc_floor = \"{floor}\" "
                       "in buildconfig.toml, so cgo links with zig cc for that glibc, then "
                       "rebuild with",
            summary=f"{role} {side.path} needs {first.symbol}@{first.version}{also}, newer "
                    f"than the glibc floor {floor}",
        )


def _more(symbols: list[str]) -> str:
    """" (and 3 more: a, b, c)" of the other symbols needing that version."""
    if not symbols:
        return ""
    shown = ", ".join(symbols[:4]) + (", ..." if len(symbols) > 4 else "")
    return f" (and {len(symbols)} more: {shown})"


def not_a_go_plugin(pair: Comparison) -> Iterator[Finding]:
    """A file without Go build information was not built by Go: a C library, a crafted
    file. dlopen may take it, but the Go runtime finds no plugin in it."""
    plugin = pair.plugin
    if plugin.buildinfo is not None:
        return
    error, crashes = _not_a_plugin_error(pair)
    yield Finding(
        rule=RuleId.NOT_A_GO_PLUGIN,
        subject="plugin",
        host_value="loads Go plugins (-buildmode=plugin)",
        plugin_value="no Go build information",
        host_error=error,
        fix=pair.rebuild_plugin(),
        fix_action="build the plugin from its Go source with",
        summary=f"plugin {plugin.path} is not a Go plugin (it carries no Go build "
                "information)",
        host_crashes=crashes,
    )


def not_a_plugin(pair: Comparison) -> Iterator[Finding]:
    plugin, info = pair.plugin.elf, pair.plugin.buildinfo
    buildmode = info.buildmode if info else None
    if plugin.elf_type == "ET_DYN" and buildmode in (None, "plugin") and not plugin.interpreter:
        return
    error, crashes = _not_a_plugin_error(pair)
    built_as = f"-buildmode={buildmode}" if buildmode else plugin.elf_type
    yield Finding(
        rule=RuleId.NOT_A_PLUGIN,
        subject="-buildmode",
        host_value="plugin",
        plugin_value=buildmode or plugin.elf_type,
        host_error=error,
        fix=pair.rebuild_plugin(),
        summary=f"plugin file was built as {built_as}, not -buildmode=plugin",
        host_crashes=crashes,
    )


def _not_a_plugin_error(pair: Comparison) -> tuple[str, bool]:
    plugin = pair.plugin.elf
    if plugin.elf_type == "ET_EXEC":
        return pair.dlopen_error(f"{plugin.path}: cannot dynamically load executable"), False
    if plugin.interpreter:
        error = f"{plugin.path}: cannot dynamically load position-independent executable"
        return pair.dlopen_error(error), False
    if not plugin.is_dynamic:  # measured with a crafted ELF file
        error = (f"Error loading shared library {plugin.path}: Exec format error"
                 if pair.host.elf.libc == MUSL
                 else f"{plugin.path}: object file has no dynamic section")
        return pair.dlopen_error(error), False
    # Measured for -buildmode=c-shared and a C library: dlopen succeeds, the Go runtime
    # finds no plugin in it ("plugin already loaded" when another was loaded before).
    return NO_PLUGIN_MODULE_DATA, True


# -- rules: the host finds what it looks up ----------------------------------------------


def entry_symbols(pair: Comparison) -> Iterator[Finding]:
    plugin_path = _plugin_package_path(pair.plugin)
    for symbol in pair.contract.symbols:
        if exports(pair.plugin, symbol):
            continue
        yield Finding(
            rule=RuleId.ENTRY_SYMBOL,
            subject=symbol,
            host_value=f"looks up {symbol}",
            plugin_value="not exported",
            host_error=f"plugin: symbol {symbol} not found in plugin {plugin_path}",
            fix=pair.rebuild_plugin(),
            fix_action=f"declare {symbol} in the plugin's package main as the "
            f"{pair.contract.plugin_type} contract defines it, then rebuild with",
            summary=f"plugin does not export {symbol}",
        )


def symbol_prefix(package: str) -> str:
    """The package path as the linker writes it in symbol names (cmd/internal/objabi
    PathToPrefix): control bytes, space, '%', '"', non-ASCII, and a '.' in the last path
    element become %xx, so example.com/probe.v2 names its symbols example.com/probe%2ev2.S."""
    raw = package.encode()
    last_slash = raw.rfind(b"/")
    return "".join(
        f"%{byte:02x}" if byte <= 0x20 or byte >= 0x7F or byte in b'%"'
        or (byte == ord(".") and index > last_slash) else chr(byte)
        for index, byte in enumerate(raw))


def _plugin_package_path(plugin: Side) -> str:
    info = plugin.buildinfo
    if info and info.path and info.path != _FILE_LIST_PACKAGE:
        return info.path
    return os.path.basename(plugin.path).removesuffix(".so")


def exports(plugin: Side, symbol: str) -> bool:
    """True when package main of the plugin defines ``symbol`` (Go names it "pkgpath.S")."""
    info = plugin.buildinfo
    if info and info.path and info.path != _FILE_LIST_PACKAGE:
        return f"{symbol_prefix(info.path)}.{symbol}" in plugin.elf.exported_symbols
    # Built from a file list, package main is named "plugin/unnamed-<hash>"; without build
    # info the package is unknown, so any package-level (not method) symbol counts.
    prefix = "plugin/unnamed-" if info else ""
    for name in plugin.elf.exported_symbols:
        package, _, member = name.rpartition(".")
        if member == symbol and package.startswith(prefix) and "(" not in package:
            return True
    return False
