// Command manager is the reference manager: it loads manager plugins.
package main

import (
	"os"

	"plugin-builder.dev/host/internal/service"
	"plugin-builder.dev/host/sdk"
)

func main() { os.Exit(service.Main("manager", sdk.TypeManager, os.Args[1:])) }
