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
    "backend": "where commands run: local or docker (default: project.backend)",
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


@task(
    help={
        **{k: v for k, v in _COMBINATION_HELP.items() if k != "backend"},
        "host": "verify plugins against this host binary (built by this tool or not)",
        "plugin": "a plugin binary to verify against --host; repeat for more",
        "type": "the plugin type of --plugin (default: from its file name)",
        "host-check": "with --host: load through the type's service check command "
                      "instead of a stand-in loader built like the host",
        "json": "print the results as JSON",
        "static-only": "skip the live load; only the static analysis",
        "image": "run this service image and prove every plugin it ships loaded "
                 "(repeatable; needs the Docker engine)",
    },
    iterable=["plugin", "image"],
)
def verify(c, go=None, libc=None, all=False, host=None, plugin=None, type_=None,
           host_check=False, json=False, static_only=False, image=None, config=CONFIG):
    """Prove every plugin loads into its host; name the cause and fix when not."""
    with commands.guard():
        if image:
            commands.verify_image(image, as_json=json)
            return
        commands.verify(config, go=go, libc=libc, every=all, host=host, plugins=plugin,
                        type_=type_, host_check=host_check, as_json=json,
                        live=not static_only)


@task(help={"config": _COMBINATION_HELP["config"]})
def report(c, config=CONFIG):
    """Print the summary table of every combination's last pipeline run."""
    with commands.guard():
        commands.report(config)


@task(help={"config": _COMBINATION_HELP["config"]})
def ci_matrix(c, config=CONFIG):
    """Print the GitHub Actions matrix of pipeline sessions, from nox -l --json."""
    with commands.guard():
        commands.ci_matrix(config)


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


# -- docker: base images, builder images, service images, image verification ----------


@task(help={"force": "rebuild even when the images are up to date",
            "config": _COMBINATION_HELP["config"]})
def bootstrap_base(c, force=False, config=CONFIG):
    """Make base images without a registry: debootstrap + docker import (needs root)."""
    with commands.guard():
        for tag in commands.bootstrap_base(config, force=force):
            print(tag)


@task(help={**{k: _COMBINATION_HELP[k] for k in ("go", "libc", "all", "config")},
            "force": "rebuild even when the image is up to date"})
def build_builder_image(c, go=None, libc=None, all=False, force=False, config=CONFIG):
    """Build the builder image of a combination (Go toolchain + C compiler of the libc)."""
    with commands.guard():
        for tag in commands.build_builder_image(config, go=go, libc=libc, every=all,
                                                force=force):
            print(tag)


@task(help={"service": "a service of [host.services] (repeatable; default: every service)",
            **_COMBINATION_HELP},
      iterable=["service"])
def build_service_image(c, service=None, go=None, libc=None, all=False, backend=None,
                        config=CONFIG):
    """Build the runtime image of a service: its host binary and its plugins, non-root."""
    with commands.guard():
        for tag in commands.build_service_image(config, services=service, go=go, libc=libc,
                                                every=all, backend=backend):
            print(tag)
