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
    "arch": "GOARCH of the combination, e.g. amd64 (default: matrix.default's)",
    "all": "every combination of the matrix (--go/--libc then filter it)",
    "backend": "where commands run: local or docker (default: project.backend)",
    "config": f"the build config (default: {CONFIG})",
    "verbose": "print every build command in full (environment and argv) before it runs",
}


@task(help=_COMBINATION_HELP)
def build_host(c, go=None, libc=None, arch=None, all=False, backend=None, config=CONFIG,
               verbose=False):
    """Build the host's services, dynamically linked."""
    with commands.guard():
        commands.build_host(config, go=go, libc=libc, arch=arch, every=all, backend=backend,
                            verbose=verbose)


@task(help={
    "type": "plugin type: resource, scheduler, manager, ... (default: every type)",
    "name": "one plugin target of that type (default: every target of the type)",
    **_COMBINATION_HELP,
})
def build_plugin(c, type_=None, name=None, go=None, libc=None, arch=None, all=False,
                 backend=None, config=CONFIG, verbose=False):
    """Build plugin targets with the host's exact settings."""
    with commands.guard():
        commands.build_plugin(config, type_=type_, name=name, go=go, libc=libc, arch=arch,
                              every=all, backend=backend, verbose=verbose)


@task(help={"type": "plugin type of the new target (a [plugin_types] table)",
            "name": "name of the new target: [a-z0-9]+, following the type's naming rule",
            "config": _COMBINATION_HELP["config"]})
def new_plugin(c, type_, name, config=CONFIG):
    """Scaffold and register a new plugin target."""
    with commands.guard():
        commands.new_plugin(config, type_=type_, name=name)


@task(help={"backend": "also check the Docker engine and base images: --backend docker "
                       "(default: project.backend)",
            "json": "print the checks as JSON", "config": _COMBINATION_HELP["config"]})
def doctor(c, backend=None, json=False, config=CONFIG):
    """Check this machine can build the matrix; name each fix."""
    with commands.guard():
        commands.doctor(config, backend=backend, as_json=json)


@task(help=_COMBINATION_HELP)
def pipeline(c, go=None, libc=None, arch=None, all=False, backend=None, config=CONFIG,
             verbose=False):
    """Build host and plugins, verify, then summarise."""
    with commands.guard():
        commands.pipeline(config, go=go, libc=libc, arch=arch, every=all, backend=backend,
                          verbose=verbose)


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
def verify(c, go=None, libc=None, arch=None, all=False, host=None, plugin=None, type_=None,
           host_check=False, json=False, static_only=False, image=None, config=CONFIG,
           verbose=False):
    """Prove every plugin loads into its host, or say why not."""
    with commands.guard():
        if image:
            commands.verify_image(image, as_json=json)
            return
        commands.verify(config, go=go, libc=libc, arch=arch, every=all, host=host,
                        plugins=plugin, type_=type_, host_check=host_check, as_json=json,
                        live=not static_only, verbose=verbose)


@task(help={"json": "print the summaries as JSON", "config": _COMBINATION_HELP["config"]})
def report(c, json=False, config=CONFIG):
    """Print the summary of the last pipeline runs."""
    with commands.guard():
        commands.report(config, as_json=json)


@task(help={"config": _COMBINATION_HELP["config"]})
def ci_matrix(c, config=CONFIG):
    """Print the GitHub Actions matrix of pipeline sessions."""
    with commands.guard():
        commands.ci_matrix(config)


@task(name="list", help={"json": "print JSON for machines", "config": _COMBINATION_HELP["config"]})
def list_(c, json=False, config=CONFIG):
    """List the combinations and the plugin targets."""
    with commands.guard():
        commands.list_targets(config, as_json=json)


@task(help={"go": "only this Go release's combinations", "libc": "only this libc's",
            "config": _COMBINATION_HELP["config"]})
def clean(c, go=None, libc=None, config=CONFIG):
    """Remove built artifacts (all, or one combination)."""
    with commands.guard():
        commands.clean(config, go=go, libc=libc)


# -- docker: base images, builder images, service images, image verification ----------


@task(help={"force": "rebuild even when the images are up to date",
            "config": _COMBINATION_HELP["config"]})
def bootstrap_base(c, force=False, config=CONFIG):
    """Make base images without a registry (needs root)."""
    with commands.guard():
        for tag in commands.bootstrap_base(config, force=force):
            print(tag)


@task(help={**{k: _COMBINATION_HELP[k] for k in ("go", "libc", "all", "config")},
            "force": "rebuild even when the image is up to date"})
def build_builder_image(c, go=None, libc=None, all=False, force=False, config=CONFIG):
    """Build the builder image of a combination."""
    with commands.guard():
        for tag in commands.build_builder_image(config, go=go, libc=libc, every=all,
                                                force=force):
            print(tag)


@task(help={"service": "a service of [host.services] (repeatable; default: every service)",
            **{k: v for k, v in _COMBINATION_HELP.items() if k != "arch"}},
      iterable=["service"])
def build_service_image(c, service=None, go=None, libc=None, all=False, backend=None,
                        config=CONFIG, verbose=False):
    """Build the runtime image of a service with its plugins."""
    with commands.guard():
        for tag in commands.build_service_image(config, services=service, go=go, libc=libc,
                                                every=all, backend=backend, verbose=verbose):
            print(tag)
