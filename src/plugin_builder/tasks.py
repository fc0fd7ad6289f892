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
from collections.abc import Callable

from invoke import Collection, task

from plugin_builder import commands, coreflags, results
from plugin_builder.console import Console, close_all, guard, print_verdicts
from plugin_builder.errors import UsageError
from plugin_builder.selection import Choice
from plugin_builder.status import Verdict
from plugin_builder.untrusted import quoted

coreflags.accept_build_config()  # `invoke --config buildconfig.toml TASK`

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
    "dry-run": "say what would be provisioned, built and verified, and why; do none of it "
               "and write nothing (invoke's --dry means the same)",
}
DRY_RUN_DONE = "dry run: nothing was provisioned, built or written"


def _choice(go: str | None, libc: str | None, arch: str | None, every: bool) -> Choice:
    return Choice(go=go, libc=libc, arch=arch, every=every)


def _context(c, config: str | None, backend: str | None = None,
             verbose: bool = False) -> commands.Context:
    """The command's context, its messages going to a console of this front end (closed
    by guard() when the task ends)."""
    return commands.Context.open(coreflags.build_config(c, config), backend,
                                 Console(verbose=verbose))


def _said_dry_run() -> None:
    close_all()
    print(DRY_RUN_DONE)


@task(help=_COMBINATION_HELP)
def build_host(c, go=None, libc=None, arch=None, all=False, backend=None, config=None,
               verbose=False, dry_run=False):
    """Build the host's services, dynamically linked."""
    with guard():
        dry_run = coreflags.dry_run(c, dry_run)
        commands.build_host(_context(c, config, backend, verbose), _choice(go, libc, arch, all),
                            dry_run=dry_run)
        if dry_run:
            _said_dry_run()


@task(help={
    "type": "plugin type: resource, scheduler, manager, ... (default: every type)",
    "name": "one plugin target of that type (default: every target of the type)",
    **_COMBINATION_HELP,
})
def build_plugin(c, type_=None, name=None, go=None, libc=None, arch=None, all=False,
                 backend=None, config=None, verbose=False, dry_run=False):
    """Build plugin targets with the host's exact settings."""
    with guard():
        dry_run = coreflags.dry_run(c, dry_run)
        commands.build_plugin(_context(c, config, backend, verbose),
                              _choice(go, libc, arch, all), type_=type_, name=name,
                              dry_run=dry_run)
        if dry_run:
            _said_dry_run()


@task(help=_COMBINATION_HELP)
def pipeline(c, go=None, libc=None, arch=None, all=False, backend=None, config=None,
             verbose=False, dry_run=False):
    """Build host and plugins, verify, then summarise."""
    with guard():
        dry_run = coreflags.dry_run(c, dry_run)
        context = _context(c, config, backend, verbose)
        outcomes = commands.pipeline(context, _choice(go, libc, arch, all), dry_run=dry_run)
        if dry_run:
            commands.require_built(outcomes)
            _said_dry_run()
            return
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
        "image": "run this service image and prove every plugin it ships loaded, or "
                 "load the plugins in the released host's image (host.image) (repeatable; "
                 "needs the Docker engine)",
    },
    iterable=["plugin", "image"],
)
def verify(c, go=None, libc=None, arch=None, all=False, host=None, plugin=None, type_=None,
           name=None, host_check=False, json=False, static_only=False, image=None,
           backend=None, config=None, verbose=False, dry_run=False):
    """Prove every plugin loads into its host, or say why not."""
    with guard():
        dry_run = coreflags.dry_run(c, dry_run)
        if dry_run and (image or host or plugin):
            raise UsageError("--dry-run plans the targets of the config, not --image, "
                             "--host or --plugin", fix="leave out --dry-run, or those flags")
        if image:
            # A config names the released host's image, if any: without one, every
            # image must be a service image (which carries what verify needs).
            released = None if not coreflags.build_config(c, config).is_file() else \
                lambda: (_context(c, config, backend, verbose), _choice(go, libc, arch, all))
            _verify_images(image, json, released)
            return
        context = _context(c, config, backend, verbose)
        if host or plugin:
            verdicts = commands.verify_binaries(context, host, plugin or [], type_=type_,
                                                host_check=host_check, live=not static_only)
        else:
            verdicts = commands.verify(context, _choice(go, libc, arch, all),
                                       live=not static_only, type_=type_, name=name,
                                       dry_run=dry_run)
            if dry_run:
                _said_dry_run()
                return
        close_all()
        print_verdicts(verdicts, as_json=json)
        commands.require_loaded(verdicts)


def _verify_images(images: list[str], as_json: bool,
                   released: Callable[[], tuple[commands.Context, Choice]] | None) -> None:
    reports = commands.verify_images(images, Console(), released)
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
        summaries = commands.report(coreflags.build_config(c, config))
        if json:
            print(json_module.dumps([results.summary_dict(s) for s in summaries], indent=2))
        else:
            results.print_table(summaries)


@task(help={"config": CONFIG_HELP})
def ci_matrix(c, config=None):
    """Print the GitHub Actions matrix of pipeline sessions."""
    with guard():
        print(json_module.dumps(commands.ci_matrix(coreflags.build_config(c, config)),
                                separators=(",", ":")))


@task(name="list", help={"json": "print JSON for machines", "config": CONFIG_HELP})
def list_(c, json=False, config=None):
    """List the combinations and the plugin targets."""
    with guard():
        listing = commands.listing(coreflags.build_config(c, config))
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


@task(help={"json": "print JSON for machines: the config's path, its combinations and "
                    "targets, or the error with its file, key and fix",
            "config": CONFIG_HELP})
def check(c, json=False, config=None):
    """Check the build config as every command loads it.

    Exits 3 when it is invalid, naming the file, the key and the fix.
    """
    with guard():
        checked = commands.check(coreflags.build_config(c, config))
        if json:
            print(json_module.dumps(checked.to_dict(), indent=2))
            if checked.error is not None:
                raise SystemExit(checked.error.return_code)
            return
        if checked.error is not None:
            raise checked.error
        listing = checked.listing or {}
        print(f"{checked.path}: valid: {len(listing['combinations'])} combination(s), "
              f"{len(listing['services'])} service(s), {len(listing['plugins'])} plugin "
              f"target(s); default {listing['default']}")


@task(help={"type": "plugin type of the new target (a [plugin_types] table)",
            "name": "name of the new target, following the type's naming rule",
            "config": CONFIG_HELP,
            "dry-run": "say what would be created and registered; write nothing"})
def new_plugin(c, type_, name, config=None, dry_run=False):
    """Scaffold and register a new plugin target."""
    with guard():
        path = coreflags.build_config(c, config)
        dry_run = coreflags.dry_run(c, dry_run)
        folder, files = commands.new_plugin(path, type_=type_, name=name, dry_run=dry_run)
        if dry_run:
            print(f"would create {folder}: {', '.join(files)}")
            print(f"would register [[plugins]] {type_}/{name} in {path}")
            print("dry run: nothing was written")
            return
        print(f"created {folder}: {', '.join(files)}")
        print(f"registered [[plugins]] {type_}/{name} in {path}")
        print(f"next: invoke build-plugin --type {type_} --name {name} && invoke verify")


@task(help={"backend": "also check the Docker engine and base images: --backend docker "
                       "(default: project.backend)",
            "json": "print the checks as JSON", "config": CONFIG_HELP})
def doctor(c, backend=None, json=False, config=None):
    """Check this machine can build the matrix; name each fix."""
    with guard():
        from plugin_builder import doctor as doctor_module

        checks = commands.doctor(coreflags.build_config(c, config), backend=backend)
        if json:
            print(doctor_module.to_json(checks))
        else:
            doctor_module.print_table(checks)
        doctor_module.require_ok(checks)


@task(help={**{k: _COMBINATION_HELP[k] for k in ("go", "libc", "arch", "config")},
            "dry-run": "say which folders would be removed; remove nothing"})
def clean(c, go=None, libc=None, arch=None, config=None, dry_run=False):
    """Remove built artifacts (all, or some combinations)."""
    with guard():
        dry_run = coreflags.dry_run(c, dry_run)
        choice = Choice(go=go, libc=libc, arch=arch, every=True) if go or libc or arch else None
        cleaned = commands.clean(coreflags.build_config(c, config), choice, dry_run=dry_run)
        for folder in cleaned.removed:
            print(f"{'would remove' if dry_run else 'removed'} {quoted(folder)}")
        if cleaned.kept:
            folder = cleaned.kept[0].parent
            print(f"{'would remove' if dry_run else 'removed'} what plugin-builder made in "
                  f"{quoted(folder)}; kept what it did not make: "
                  + ", ".join(quoted(p.name) for p in cleaned.kept))
        if dry_run:
            print("dry run: nothing was removed")

# -- the exact Go at hand ------------------------------------------------------------------


_GO_HELP = {k: _COMBINATION_HELP[k] for k in ("go", "libc", "arch", "config")}


@task(name="go", help=_GO_HELP)
def go_command(c, go=None, libc=None, arch=None, config=None):
    """Run the combination's own go: plugin-builder go -- ARGS"""
    from plugin_builder import goathand

    with guard():
        coreflags.refuse_dry(c, "go")
        config_path = coreflags.build_config(c, config)
        hand = goathand.at_hand(commands.load(config_path), _choice(go, libc, arch, False),
                                Console().for_prefix("go"))
        close_all()
        code = goathand.run(hand, coreflags.remainder(c))
    raise SystemExit(code)


@task(help={**_GO_HELP, "shell": "the shell's syntax: sh (also bash, zsh, dash) or fish"})
def env(c, go=None, libc=None, arch=None, config=None, shell="sh"):
    """Print the exports for the combination's go in a shell.

    eval "$(plugin-builder env)"; go version
    """
    from plugin_builder import goathand

    with guard():
        coreflags.refuse_dry(c, "env")  # it provisions the toolchain on first use
        goathand.require_shell(shell)
        hand = goathand.at_hand(commands.load(coreflags.build_config(c, config)),
                                _choice(go, libc, arch, False), Console().for_prefix("env"))
        close_all()
        print(goathand.exports(hand, shell), end="")


# -- docker: base images, builder images, service images ------------------------------


@task(help={"force": "rebuild even when the images are up to date", "config": CONFIG_HELP})
def bootstrap_base(c, force=False, config=None):
    """Make base images without a registry (as root)."""
    with guard():
        coreflags.refuse_dry(c, "bootstrap-base")
        for tag in commands.bootstrap_base(coreflags.build_config(c, config), force=force,
                                           reporter=Console()):
            print(tag)


@task(help={**{k: _COMBINATION_HELP[k] for k in ("go", "libc", "arch", "all", "config")},
            "force": "rebuild even when the image is up to date",
            "dry-run": "say which images would be built and why; build nothing"})
def build_builder_image(c, go=None, libc=None, arch=None, all=False, force=False, config=None,
                        dry_run=False):
    """Build the builder image of a combination."""
    with guard():
        dry_run = coreflags.dry_run(c, dry_run)
        tags = commands.build_builder_image(_context(c, config), _choice(go, libc, arch, all),
                                            force=force, dry_run=dry_run)
        if dry_run:
            _said_dry_run()
            return
        for tag in tags:
            print(tag)


@task(help={"service": "a service of [host.services] (repeatable; default: every service)",
            **_COMBINATION_HELP},
      iterable=["service"])
def build_service_image(c, service=None, go=None, libc=None, arch=None, all=False,
                        backend=None, config=None, verbose=False, dry_run=False):
    """Build the runtime image of a service with its plugins."""
    with guard():
        dry_run = coreflags.dry_run(c, dry_run)
        tags = commands.build_service_image(_context(c, config, backend, verbose),
                                            _choice(go, libc, arch, all), services=service,
                                            dry_run=dry_run)
        if dry_run:
            _said_dry_run()
            return
        for tag in tags:
            print(tag)


ns = Collection(build_host, build_plugin, pipeline, verify, report, ci_matrix, list_, check,
                new_plugin, doctor, clean, go_command, env, bootstrap_base,
                build_builder_image, build_service_image)
