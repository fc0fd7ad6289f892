"""invoke tasks of this repository: the tool's own task collection (plugin_builder.tasks).

    invoke build-plugin --type scheduler
    invoke pipeline --all
"""

from plugin_builder.tasks import ns  # noqa: F401  (invoke finds the collection by name)
