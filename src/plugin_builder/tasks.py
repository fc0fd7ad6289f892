"""The invoke tasks: parse flags, call :mod:`plugin_builder.commands`, show the result.

A project's own ``tasks.py`` is one line, ``from plugin_builder.tasks import ns``, so
every project runs the very tasks this repository runs:

    invoke build-plugin --type scheduler
    invoke pipeline --all

Each task resolves its combination flags into one :class:`~plugin_builder.selection.Choice`
and hands it whole to the command; errors become one message and an exit code
(:func:`plugin_builder.console.guard`).
"""

from __future__ import annotations

import json as json_module

from invoke import Collection, task

from plugin_builder import commands, results
from plugin_builder.console import Console, close_all, guard, print_verdicts
from plugin_builder.project import default_config
from plugin_builder.selection import Choice
from plugin_builder.status import Verdict
from plugin_builder.untrusted import quoted

CONFIG_HELP = ("the build config (default: $PLUGIN_BUILDER_CONFIG, else buildconfig.toml "
               "in this folder)")
_COMBINATION_HELP = {
    "go": "Go release of the combination, e.g. 1.27.3 (default: matrix.default's)",
    "libc": "libc of the combination: glibc or musl (default: matrix.default's)",
    "arch": "GOARCH of the combination, e.g. amd64 (default: matrix.default's)",
    "all": "every combination of the matrix (--go/--libc/--arch then filter it)",
    "backend": "where commands run: local or docker (default: project.backend)",
    "config": CONFIG_HELP,
    "verbose": "print every build command in full (environment and argv) before it runs",
}


def _choice(go: str | None, libc: str | None, arch: str | None, every: bool) -> Choice:
    return Choice(go=go, libc=libc, arch=arch, every=every)


def _context(config: str | None, backend: str | None = None,
             verbose: bool = False) -> commands.Context:
    """The command's context, its messages going to a console of this front end (closed
    by guard() when the task ends)."""
    return commands.Context.open(config or default_config(), backend,
                                 Console(verbose=verbose))


@task(help=_COMBINATION_HELP)
def build_host(c, go=None, libc=None, arch=None, all=False, backend=None, config=None,
               verbose=False):
    """Build the host's services, dynamically linked."""
    with guard():
        commands.build_host(_context(config, backend, verbose), _choice(go, libc, arch, all))


@task(help={
    "type": "plugin type: resource, scheduler, manager, ... (default: every type)",
    "name": "one plugin target of that type (default: every target of the type)",
    **_COMBINATION_HELP,
})
def build_plugin(c, type_=None, name=None, go=None, libc=None, arch=None, all=False,
                 backend=None, config=None, verbose=False):
    """Build plugin targets with the host's exact settings."""
    with guard():
        commands.build_plugin(_context(config, backend, verbose), _choice(go, libc, arch, all),
                              type_=type_, name=name)


@task(help=_COMBINATION_HELP)
def pipeline(c, go=None, libc=None, arch=None, all=False, backend=None, config=None,
             verbose=False):
    """Build host and plugins, verify, then summarise."""
    with guard():
        context = _context(config, backend, verbose)
        outcomes = commands.pipeline(context, _choice(go, libc, arch, all))
        close_all()
        results.print_summary(context.config.results,
                              only=[r.combination.id for r in outcomes])
        print_verdicts([p for r in outcomes if not r.passed for p in r.verify
                        if p.verdict == Verdict.FAIL], only_if_any=True)
        commands.require_passed(outcomes)


@task(
    help={
        **{k: v for k, v in _COMBINATION_HELP.items()},
        "host": "verify plugins against this host binary (built by this tool or not)",
        "plugin": "a plugin binary to verify against --host; repeat for more",
        "type": "only the targets of this plugin type; with --plugin: its plugin type "
                "(default: from its file name)",
        "name": "only the plugin target of this name",
        "host-check": "with --host: load through the type's service check command "
                      "instead of a stand-in loader built like the host",
        "json": "print the results as JSON",
        "static-only": "skip the live load; only the static analysis",
        "image": "run this service image and prove every plugin it ships loaded "
                 "(repeatable; needs the Docker engine)",
    },
    iterable=["plugin", "image"],
)
def verify(c, go=None, libc=None, arch=None, all=False, host=None, plugin=None, type_=None,
           name=None, host_check=False, json=False, static_only=False, image=None,
           backend=None, config=None, verbose=False):
    """Prove every plugin loads into its host, or say why not."""
    with guard():
        if image:
            _verify_images(image, json)
            return
        context = _context(config, backend, verbose)
        if host or plugin:
            verdicts = commands.verify_binaries(context, host, plugin or [], type_=type_,
                                                host_check=host_check, live=not static_only)
        else:
            verdicts = commands.verify(context, _choice(go, libc, arch, all),
                                       live=not static_only, type_=type_, name=name)
        close_all()
        print_verdicts(verdicts, as_json=json)
        commands.require_loaded(verdicts)


def _verify_images(images: list[str], as_json: bool) -> None:
    reports = commands.verify_images(images, Console())
    if as_json:
        print(json_module.dumps([report.to_dict() for report in reports], indent=2))
    else:
        for report in reports:
            print(report.summary())
    commands.require_images_ok(reports)


@task(help={"json": "print the summaries as JSON", "config": CONFIG_HELP})
def report(c, json=False, config=None):
    """Print the summary of the last pipeline runs."""
    with guard():
        summaries = commands.report(config or default_config())
        if json:
            print(json_module.dumps([results.summary_dict(s) for s in summaries], indent=2))
        else:
            results.print_table(summaries)


@task(help={"config": CONFIG_HELP})
def ci_matrix(c, config=None):
    """Print the GitHub Actions matrix of pipeline sessions."""
    with guard():
        print(json_module.dumps(commands.ci_matrix(config or default_config()),
                                separators=(",", ":")))


@task(name="list", help={"json": "print JSON for machines", "config": CONFIG_HELP})
def list_(c, json=False, config=None):
    """List the combinations and the plugin targets."""
    with guard():
        listing = commands.listing(config or default_config())
        if json:
            print(json_module.dumps(listing, indent=2))
            return
        print("combinations (default marked *):")
        for identifier in listing["combinations"]:
            print(f"  {'*' if identifier == listing['default'] else ' '} {identifier}")
        print("plugin targets:")
        for plugin in listing["plugins"]:
            print(f"    {plugin['type']:<10} {plugin['name']:<16} {plugin['source']}"
                  f" -> {plugin['file']}")


@task(help={"type": "plugin type of the new target (a [plugin_types] table)",
            "name": "name of the new target, following the type's naming rule",
            "config": CONFIG_HELP})
def new_plugin(c, type_, name, config=None):
    """Scaffold and register a new plugin target."""
    with guard():
        path = config or default_config()
        folder = commands.new_plugin(path, type_=type_, name=name)
        print(f"created {folder}")
        print(f"registered [[plugins]] {type_}/{name} in buildconfig.toml")
        print(f"next: invoke build-plugin --type {type_} --name {name} && invoke verify")


@task(help={"backend": "also check the Docker engine and base images: --backend docker "
                       "(default: project.backend)",
            "json": "print the checks as JSON", "config": CONFIG_HELP})
def doctor(c, backend=None, json=False, config=None):
    """Check this machine can build the matrix; name each fix."""
    with guard():
        from plugin_builder import doctor as doctor_module

        checks = commands.doctor(config or default_config(), backend=backend)
        if json:
            print(doctor_module.to_json(checks))
        else:
            doctor_module.print_table(checks)
        doctor_module.require_ok(checks)


@task(help={k: _COMBINATION_HELP[k] for k in ("go", "libc", "arch", "config")})
def clean(c, go=None, libc=None, arch=None, config=None):
    """Remove built artifacts (all, or some combinations)."""
    with guard():
        choice = Choice(go=go, libc=libc, arch=arch, every=True) if go or libc or arch else None
        cleaned = commands.clean(config or default_config(), choice)
        for folder in cleaned.removed:
            print(f"removed {quoted(folder)}")
        if cleaned.kept:
            folder = cleaned.kept[0].parent
            print(f"removed what plugin-builder made in {quoted(folder)}; kept what it did "
                  f"not make: " + ", ".join(quoted(p.name) for p in cleaned.kept))


# -- docker: base images, builder images, service images ------------------------------


@task(help={"force": "rebuild even when the images are up to date", "config": CONFIG_HELP})
def bootstrap_base(c, force=False, config=None):
    """Make base images without a registry (as root)."""
    with guard():
        for tag in commands.bootstrap_base(config or default_config(), force=force,
                                           reporter=Console()):
            print(tag)


@task(help={**{k: _COMBINATION_HELP[k] for k in ("go", "libc", "arch", "all", "config")},
            "force": "rebuild even when the image is up to date"})
def build_builder_image(c, go=None, libc=None, arch=None, all=False, force=False, config=None):
    """Build the builder image of a combination."""
    with guard():
        for tag in commands.build_builder_image(_context(config),
                                                _choice(go, libc, arch, all), force=force):
            print(tag)


@task(help={"service": "a service of [host.services] (repeatable; default: every service)",
            **_COMBINATION_HELP},
      iterable=["service"])
def build_service_image(c, service=None, go=None, libc=None, arch=None, all=False,
                        backend=None, config=None, verbose=False):
    """Build the runtime image of a service with its plugins."""
    with guard():
        for tag in commands.build_service_image(_context(config, backend, verbose),
                                                _choice(go, libc, arch, all),
                                                services=service):
            print(tag)


ns = Collection(build_host, build_plugin, pipeline, verify, report, ci_matrix, list_,
                new_plugin, doctor, clean, bootstrap_base, build_builder_image,
                build_service_image)
