"""invoke tasks: parse flags, call plugin_builder.commands, print results.

    invoke build-plugin --type scheduler
    invoke pipeline --all
"""

from invoke import task

from plugin_builder import commands

CONFIG = "buildconfig.toml"
_COMBINATION_HELP = {
    "go": "Go release of the combination, e.g. 1.27.3 (default: matrix.default's)",
    "libc": "libc of the combination: glibc or musl (default: matrix.default's)",
    "all": "every combination of the matrix (--go/--libc then filter it)",
    "backend": "where commands run: local (default: project.backend)",
    "config": f"the build config (default: {CONFIG})",
}


@task(help=_COMBINATION_HELP)
def build_host(c, go=None, libc=None, all=False, backend=None, config=CONFIG):
    """Build the host's services, dynamically linked, for a combination."""
    with commands.guard():
        commands.build_host(config, go=go, libc=libc, every=all, backend=backend)


@task(help={
    "type": "plugin type: resource, scheduler, manager, ... (default: every type)",
    "name": "one plugin target of that type (default: every target of the type)",
    **_COMBINATION_HELP,
})
def build_plugin(c, type_=None, name=None, go=None, libc=None, all=False, backend=None,
                 config=CONFIG):
    """Build plugin targets with the host's exact settings, out of tree."""
    with commands.guard():
        commands.build_plugin(config, type_=type_, name=name, go=go, libc=libc, every=all,
                              backend=backend)


@task(help=_COMBINATION_HELP)
def pipeline(c, go=None, libc=None, all=False, backend=None, config=CONFIG):
    """Build host and every plugin for a combination (or --all), then summarise."""
    with commands.guard():
        commands.pipeline(config, go=go, libc=libc, every=all, backend=backend)


@task(name="list", help={"json": "print JSON for machines", "config": _COMBINATION_HELP["config"]})
def list_(c, json=False, config=CONFIG):
    """List the combinations of the matrix and the plugin targets."""
    with commands.guard():
        commands.list_targets(config, as_json=json)


@task(help={"go": "only this Go release's combinations", "libc": "only this libc's",
            "config": _COMBINATION_HELP["config"]})
def clean(c, go=None, libc=None, config=CONFIG):
    """Remove built artifacts (all of them, or one slice of the matrix)."""
    with commands.guard():
        commands.clean(config, go=go, libc=libc)
