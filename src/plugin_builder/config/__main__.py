"""python -m plugin_builder.config: rewrite what the model gives the repository (the
JSON Schema and docs/configuration.md's key table)."""

from plugin_builder.config.schema import write

write()
