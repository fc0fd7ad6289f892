module plugin-builder.dev/plugins/searcher

go 1.26

require plugin-builder.dev/host v0.0.0
