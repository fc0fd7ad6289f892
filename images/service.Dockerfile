# Service image: the runtime base of the libc (libc.<name>.runtime_base), one host
# binary, and the plugins of the type that service loads. @NAME@ markers are filled in
# by plugin_builder.steps.service_image with JSON (exec form), never shell text, in one
# pass (a marker inside a value stays text).
ARG RUNTIME_BASE
FROM ${RUNTIME_BASE}
ARG PLUGIN_DIR
COPY bin/ /usr/local/bin/
COPY plugins/ ${PLUGIN_DIR}/
# Not root: a plugin runs with the host's rights.
USER @USER@
EXPOSE @PORT@
HEALTHCHECK --interval=15s --timeout=5s --start-period=5s --retries=3 CMD @HEALTHCHECK@
ENTRYPOINT @ENTRYPOINT@
CMD @CMD@
