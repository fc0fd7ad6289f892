// Package sdk holds the plugin contracts of the reference host. They reproduce
// Dragonfly's out-of-tree plugin conventions: a plugin is a Go plugin (.so) named
// d7y-<type>-plugin-<name>.so that exports EntrySymbol of type InitFunc.
package sdk

// EntrySymbol is the symbol every plugin exports.
const EntrySymbol = "DragonflyPluginInit"

// InitFunc is the type of EntrySymbol. It receives the plugin options and returns
// the implementation of the plugin type's interface and the plugin metadata.
type InitFunc = func(options map[string]string) (any, map[string]string, error)

// Metadata keys returned by InitFunc.
const (
	// MetaType is the plugin type: one of the Type* constants. Required.
	MetaType = "type"
	// MetaName is the plugin name; it must match the name in the file name. Required.
	MetaName = "name"
	// MetaScheme is the URL scheme a resource plugin serves. Required for resource plugins.
	MetaScheme = "scheme"
	// MetaVersion is the plugin's own version. Optional; hosts only log it.
	MetaVersion = "version"
)

// Plugin types.
const (
	TypeResource  = "resource"
	TypeScheduler = "scheduler"
	TypeManager   = "manager"
)
