// Command dfdaemon is the reference dfdaemon: it loads resource plugins.
package main

import (
	"os"

	"plugin-builder.dev/host/internal/service"
	"plugin-builder.dev/host/sdk"
)

func main() { os.Exit(service.Main("dfdaemon", sdk.TypeResource, os.Args[1:])) }
