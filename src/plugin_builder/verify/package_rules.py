"""The rules that decide whether the Go runtime accepts the plugin's packages.

The package fingerprints both binaries export decide (``package-fingerprint``); the
build information explains a difference (``go-version``, ``build-setting``,
``module-version``), and decides alone when no fingerprints can be read. Their order
and relations are their records in :data:`plugin_builder.verify.rules.RULES`.
"""

from __future__ import annotations

from collections.abc import Iterator

from plugin_builder.binary.buildinfo import DEVEL, BuildInfo, Module
from plugin_builder.binary.fingerprints import DIFFER, UNREADABLE
from plugin_builder.status import Severity
from plugin_builder.verify.findings import (
    ERROR,
    NO_PLUGIN_MODULE_DATA,
    WARNING,
    Comparison,
    Finding,
    RuleId,
)

# Package-fingerprint settings, in the order findings list them. Measured on Go 1.26.8:
# the package the runtime names first when the setting differs (None: not measured).
_FINGERPRINT_SETTINGS = {
    "-trimpath": "internal/goarch",
    "-race": None,  # measured: sync/atomic, or internal/runtime/sys: it depends on the host
    "-msan": None,
    "-asan": None,
    "GOEXPERIMENT": "internal/goexperiment",
    "-gcflags": "internal/abi",
    "-tags": None,
    "-mod": None,
}
# CGO_ENABLED feeds fingerprints too, but -buildmode=plugin needs cgo, so a difference
# always restates host-cgo-disabled or not-a-plugin and is not compared on its own.


# -- rules: the Go runtime accepts the packages ------------------------------------------


def go_version(pair: Comparison) -> Iterator[Finding]:
    """Host and plugin built by different Go releases: an error, even where no package both
    contain differs (then the runtime loads the plugin silently, but Go's plugin package
    requires one toolchain for every part: runtime crashes are likely otherwise)."""
    host, plugin = pair.host.buildinfo, pair.plugin.buildinfo
    if not host or not plugin or host.base_go_version == plugin.base_go_version:
        return
    summary = f"plugin built by {plugin.base_go_version}, host by {host.base_go_version}"
    if host.go_release != plugin.go_release:
        error, crashes = _across_releases(pair, plugin.go_release, host.go_release)
        yield Finding(rule=RuleId.GO_VERSION, subject="go", host_value=host.base_go_version,
                      plugin_value=plugin.base_go_version, host_error=error,
                      fix=pair.rebuild_plugin(), summary=summary,
                      host_crashes=crashes, measured_across_releases=True)
        return
    # Within a release the runtime refuses only the standard packages whose compiled form
    # changed between the patch releases, which the fingerprints name.
    verdict = pair.fingerprints
    if verdict.status == DIFFER:
        error = exact_refusal(pair)
    elif verdict.status == UNREADABLE:
        error = pair.package_error("<a standard package that changed>")
    else:
        error = ""
        summary += (" (no package both contain differs, so the runtime loads it silently; Go "
                    "requires host and plugins built by exactly the same toolchain, and "
                    "runtime crashes are likely otherwise)")
    yield Finding(rule=RuleId.GO_VERSION, subject="go", host_value=host.base_go_version,
                  plugin_value=plugin.base_go_version, host_error=error,
                  fix=pair.rebuild_plugin(), summary=summary)


# What a host of one release did with a plugin of another, measured here (plugin release,
# host release): None: it died with NO_PLUGIN_MODULE_DATA; a package: it refused, naming
# it. Pairs not listed are said to be refused or to die, as nobody measured which.
MEASURED_ACROSS_RELEASES: dict[tuple[str, str], str | None] = {
    ("go1.26", "go1.27"): None,  # tests/integration/test_verify_agreement.py
    ("go1.27", "go1.26"): None,  # tests/integration/test_inspect_real_binaries.py
    ("go1.23", "go1.25"): "internal/goarch",  # tests/integration/test_verify_agreement.py
}


def _across_releases(pair: Comparison, plugin_release: str, host_release: str) -> tuple[str, bool]:
    key = (plugin_release, host_release)
    if key not in MEASURED_ACROSS_RELEASES:
        return (f"{pair.package_error('<a runtime package>')} or {NO_PLUGIN_MODULE_DATA} "
                f"(not measured for {plugin_release} in {host_release})", False)
    package = MEASURED_ACROSS_RELEASES[key]
    return (NO_PLUGIN_MODULE_DATA, True) if package is None \
        else (pair.package_error(package), False)


def package_fingerprints(pair: Comparison) -> Iterator[Finding]:
    """The runtime's own check: each package both contain, compared by fingerprint."""
    verdict = pair.fingerprints
    if verdict.status == UNREADABLE:
        yield Finding(
            rule=RuleId.PACKAGE_FINGERPRINT, subject="fingerprints", host_value="", plugin_value="",
            host_error="", fix=pair.rebuild_plugin(), severity=WARNING,
            fix_action="build the host with `import \"plugin\"` and dynamically linked, or "
                       "rebuild the plugin with",
            summary=f"package fingerprints cannot be read ({verdict.reason}), so shared "
                    "packages are compared by build info only")
        return
    if verdict.status != DIFFER:
        return
    causes = explain_differences(pair, verdict.differing)
    first = verdict.first
    named = first or verdict.differing[0]
    yield Finding(
        rule=RuleId.PACKAGE_FINGERPRINT,
        subject=named,
        host_value=f"{verdict.shared} packages in common",
        plugin_value=f"{len(verdict.differing)} differ: " + _listed(verdict.differing),
        host_error=exact_refusal(pair),
        fix=pair.rebuild_plugin(),
        fix_action="make the plugin's build match the host's (" + "; ".join(causes)
                   + "), then rebuild with",
        summary=f"{len(verdict.differing)} of the {verdict.shared} packages both binaries "
                f"contain were compiled differently" + (f", first checked: {first}" if first
                                                         else "") + f"; cause: {'; '.join(causes)}",
    )


def _listed(packages: tuple[str, ...], most: int = 5) -> str:
    shown = ", ".join(packages[:most])
    return shown + (f" (+{len(packages) - most} more)" if len(packages) > most else "")


def explain_differences(pair: Comparison, packages: tuple[str, ...]) -> list[str]:
    """Why these packages differ, as far as the two build infos can tell, most first."""
    host, plugin = pair.host.buildinfo, pair.plugin.buildinfo
    if host is None or plugin is None:
        return ["unknown: a binary carries no build information"]
    counts: dict[str, int] = {}
    for package in packages:
        cause = _cause_of(package, host, plugin)
        counts[cause] = counts.get(cause, 0) + 1
    return [f"{cause} ({n} package{'s' if n != 1 else ''})"
            for cause, n in sorted(counts.items(), key=lambda item: -item[1])]


def _cause_of(package: str, host: BuildInfo, plugin: BuildInfo) -> str:
    module = _module_of(package, host) or _module_of(package, plugin)
    if module is not None:
        host_module = host.modules_by_path().get(module)
        plugin_module = plugin.modules_by_path().get(module)
        if host_module and plugin_module and host_module.label != plugin_module.label:
            return f"module {module}: host {host_module.label}, plugin {plugin_module.label}"
    settings = [key for key in _FINGERPRINT_SETTINGS
                if _fingerprint_value(host, key) != _fingerprint_value(plugin, key)]
    if settings:
        return "build setting " + ", ".join(
            f"{key} (host {_fingerprint_value(host, key) or 'none'}, plugin "
            f"{_fingerprint_value(plugin, key) or 'none'})" for key in settings)
    if module is None and host.base_go_version != plugin.base_go_version:
        return f"Go release: host {host.base_go_version}, plugin {plugin.base_go_version}"
    if not host.trimpath:
        return ("source paths: without -trimpath a package's fingerprint holds the folder "
                "it was compiled from")
    return "not visible in the build information (a source edit, or a flag Go does not record)"


def _module_of(package: str, info: BuildInfo) -> str | None:
    """The module that provides ``package`` in this build (the longest matching path)."""
    paths = [path for path in info.modules_by_path()
             if path and (package == path or package.startswith(path + "/"))]
    return max(paths, key=len) if paths else None


def build_settings(pair: Comparison) -> Iterator[Finding]:
    host, plugin = pair.host.buildinfo, pair.plugin.buildinfo
    if not host or not plugin:
        return
    for key, package in _FINGERPRINT_SETTINGS.items():
        host_value, plugin_value = _fingerprint_value(host, key), _fingerprint_value(plugin, key)
        if host_value == plugin_value:
            continue
        culprit = package or "<a package both import>"
        host_shown, plugin_shown = host_value or "(none)", plugin_value or "(none)"
        yield Finding(
            rule=RuleId.BUILD_SETTING,
            subject=key,
            host_value=host_shown,
            plugin_value=plugin_shown,
            host_error=pair.package_error(culprit),
            fix=pair.rebuild_plugin(),
            fix_action=f"set the plugin's {key} to the host's ({host_shown}) and rebuild with",
            summary=f"plugin built with {key}={plugin_shown}, host with {key}={host_shown}",
            severity=_setting_severity(key, host_value, plugin_value),
        )


def _fingerprint_value(info: BuildInfo, key: str) -> str:
    """The setting as it affects fingerprints, with Go's defaults filled in."""
    if key == "-tags":
        return ",".join(sorted(info.tags))  # order on the command line does not matter
    if key == "-mod":
        return "vendor" if info.mod_vendor else "mod"  # only vendoring changes file names
    if key == "GOEXPERIMENT":
        return ",".join(sorted(info.goexperiment.split(","))) if info.goexperiment else ""
    if key in ("-trimpath", "-race", "-msan", "-asan"):
        return info.setting(key, "false")
    return info.setting(key)


def _setting_severity(key: str, host_value: str, plugin_value: str) -> Severity:
    # Measured: an extra tag that selects no file, or -gcflags without a package pattern
    # (it then applies to the plugin's own package only), leave shared packages intact.
    if key == "-tags":
        return WARNING
    if key == "-gcflags" and not (
        _has_package_pattern(host_value) or _has_package_pattern(plugin_value)
    ):
        return WARNING
    return ERROR


def _has_package_pattern(gcflags: str) -> bool:
    head, equals, _ = gcflags.partition("=")
    return bool(equals) and not head.startswith("-")


def module_versions(pair: Comparison) -> Iterator[Finding]:
    host, plugin = pair.host.buildinfo, pair.plugin.buildinfo
    if not host or not plugin:
        return
    host_modules, plugin_modules = host.modules_by_path(), plugin.modules_by_path()
    trimpath = host.trimpath
    for path in sorted(host_modules.keys() & plugin_modules.keys()):
        host_module, plugin_module = host_modules[path], plugin_modules[path]
        host_is_main = path == host.main.path and compiled_as_main(host.main)
        plugin_is_main = path == plugin.main.path and compiled_as_main(plugin.main)
        host_source = _source_identity(host_module, host_is_main, trimpath)
        plugin_source = _source_identity(plugin_module, plugin_is_main, trimpath)
        if _same_source(host_source, plugin_source):
            continue
        yield _module_finding(pair, host_module, host_is_main, plugin_module, plugin_is_main)


def compiled_as_main(main: Module) -> bool:
    """Whether a binary's main module was compiled from a folder (a checkout: recorded as
    (devel), or a tag without a module sum) rather than as a module at its version (``go
    install pkg@version`` records the version and the module's sum, and its files are
    named "module@version/file.go" under -trimpath, as a dependency's are)."""
    return main.version in ("", DEVEL) or not main.sum


# A module compiled from a directory the build information does not name (a main module,
# or a go.work `use`): without -trimpath its fingerprint holds that directory, unknown here.
_UNKNOWN_DIRECTORY = ("directory", None)


def _source_identity(module: Module, is_main: bool, trimpath: bool) -> tuple[str | None, ...]:
    """What of a module enters its packages' fingerprints, as measured on Go 1.26.

    The compiler records each file's name. Without -trimpath that is the absolute path,
    so the directory counts and the version label does not; with -trimpath it is
    "module@version/file.go" (just "module/file.go" for main and workspace modules),
    so the label counts even for identical source.
    """
    if is_main or (module.version == DEVEL and module.replace is None):
        return ("workspace",) if trimpath else _UNKNOWN_DIRECTORY
    replace = module.replace
    if replace is not None and replace.is_local_directory:
        return ("labelled", module.version) if trimpath else ("directory", replace.path)
    target = replace or module
    return ("module", module.version, target.path, target.version, target.sum)


def _same_source(host: tuple[str | None, ...], plugin: tuple[str | None, ...]) -> bool:
    if _UNKNOWN_DIRECTORY in (host, plugin):
        # Directories the build info cannot pin are given the benefit of the doubt.
        return host[0] == plugin[0] == "directory"
    if host[0] == plugin[0] == "module":
        # A -mod=vendor build records no sums; compare sums only when both have one.
        host_sum, plugin_sum = host[4], plugin[4]
        if not host_sum or not plugin_sum:
            return host[:4] == plugin[:4]
    return host == plugin


def _module_finding(
    pair: Comparison,
    host_module: Module,
    host_is_main: bool,
    plugin_module: Module,
    plugin_is_main: bool,
) -> Finding:
    path = host_module.path
    host_label = f"{DEVEL} (host main module)" if host_is_main else host_module.label
    plugin_label = f"{DEVEL} (plugin main module)" if plugin_is_main else plugin_module.label
    commands = _module_fix(host_module, host_is_main, plugin_module)
    fix = " && ".join(pair.hint.go_command(command) for command in commands)
    in_folder = pair.hint.in_plugin_folder(fix)
    return Finding(
        rule=RuleId.MODULE_VERSION,
        subject=path,
        host_value=host_label,
        plugin_value=plugin_label,
        host_error=pair.package_error(path),
        fix=in_folder or fix,
        fix_action="run" if in_folder else "in the plugin's module run",
        summary=f"plugin uses {path} {plugin_label}, host {host_label}",
    )


def _module_fix(host_module: Module, host_is_main: bool,
                plugin_module: Module) -> list[list[str]]:
    """The go commands that give the plugin the host's entry of the module."""
    path = host_module.path
    if host_is_main or (host_module.version == DEVEL and host_module.replace is None):
        # The host compiled this module as a main/workspace module; only a go.work
        # `use` gives the plugin the same label, a `replace` never does.
        drop = [["mod", "edit", f"-dropreplace={path}"]] if plugin_module.replace else []
        return [*drop, ["work", "init", ".", f"<directory of {path}>"]]
    edits = [f"-require={path}@{host_module.version}"]
    replace = host_module.replace
    if replace is None:
        if plugin_module.replace is not None:
            edits.append(f"-dropreplace={path}")
    elif replace.is_local_directory:
        edits.append(f"-replace={path}=<the host's {replace.path}>")
    else:
        edits.append(f"-replace={path}={replace.path}@{replace.version}")
    return [["mod", "edit", *edits], ["mod", "tidy"]]


def exact_refusal(pair: Comparison) -> str:
    """The runtime's refusal, naming the package the fingerprints say it checks first."""
    verdict = pair.fingerprints
    if verdict.first:
        return pair.package_error(verdict.first)
    return pair.package_error(f"<one of {_listed(verdict.differing)}>")

