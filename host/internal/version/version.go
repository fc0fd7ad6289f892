// Package version holds build information stamped by plugin-builder with
//
//	-ldflags "-X plugin-builder.dev/host/internal/version.Version=...
//	          -X plugin-builder.dev/host/internal/version.Combination=..."
package version

// Version is the host version.
var Version = "dev"

// Combination is the build combination, e.g. go1.26.6-musl-amd64.
var Combination = "unknown"
