// Command scheduler is the reference scheduler: it loads scheduler plugins.
package main

import (
	"os"

	"plugin-builder.dev/host/internal/service"
	"plugin-builder.dev/host/sdk"
)

func main() { os.Exit(service.Main("scheduler", sdk.TypeScheduler, os.Args[1:])) }
