// Package service is the shared main of the reference services (dfdaemon,
// scheduler, manager): each loads the plugins of one type and serves /healthz.
package service

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"plugin-builder.dev/host/internal/loader"
	"plugin-builder.dev/host/internal/version"
	"plugin-builder.dev/host/sdk"
)

// DefaultPluginDir is where service images install plugins.
const DefaultPluginDir = "/usr/local/dragonfly/plugins"

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// Service is one host binary: its name and the plugin type it loads.
type Service struct {
	Name       string // dfdaemon, scheduler, manager
	PluginType string // sdk.TypeResource, sdk.TypeScheduler, sdk.TypeManager
	Stdout     io.Writer
	Stderr     io.Writer
}

// Main runs the service with the command line arguments args (without the
// program name) and returns the process exit code.
func Main(name, pluginType string, args []string) int {
	s := &Service{Name: name, PluginType: pluginType, Stdout: os.Stdout, Stderr: os.Stderr}
	return s.Run(args)
}

// Run dispatches args to a subcommand and returns the exit code.
func (s *Service) Run(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "check-plugin":
			return s.checkPlugin(args[1:])
		case "healthcheck":
			return s.healthcheck(args[1:])
		case "version":
			if len(args) > 1 {
				fmt.Fprintf(s.Stderr, "usage: %s version\n", s.Name)
				return exitUsage
			}
			fmt.Fprintln(s.Stdout, s.Name, version.Version, version.Combination, runtime.Version())
			return exitOK
		}
	}
	return s.serve(args)
}

func (s *Service) usage(fs *flag.FlagSet) func() {
	return func() {
		fmt.Fprintf(s.Stderr, `usage:
  %[1]s [--plugin-dir DIR] [--listen ADDR]   load every %[2]s in DIR and serve GET /healthz
  %[1]s check-plugin [--json] PATH           load, validate and exercise one %[3]s plugin
  %[1]s healthcheck [URL]                      GET URL (default http://127.0.0.1:8080/healthz), print it, exit 0 when healthy
  %[1]s version                              print "%[1]s <version> <combination> <go version>"

flags:
`, s.Name, loader.Pattern(s.PluginType), s.PluginType)
		fs.PrintDefaults()
	}
}

// parse parses flags that may be interspersed with positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func (s *Service) serve(args []string) int {
	fs := flag.NewFlagSet(s.Name, flag.ContinueOnError)
	fs.SetOutput(s.Stderr)
	fs.Usage = s.usage(fs)
	dir := fs.String("plugin-dir", DefaultPluginDir, "directory of "+loader.Pattern(s.PluginType)+" files")
	listen := fs.String("listen", ":8080", "HTTP listen address")
	pos, err := parse(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if len(pos) > 0 {
		fmt.Fprintf(s.Stderr, "%s: unexpected argument %q\n", s.Name, pos[0])
		fs.Usage()
		return exitUsage
	}

	logger := log.New(s.Stderr, s.Name+": ", log.LstdFlags|log.Lmsgprefix)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	if abs, err := filepath.Abs(*dir); err == nil {
		*dir = abs
	}
	plugins, missing, err := loader.LoadDir(ctx, *dir, s.PluginType, map[string]string{})
	if missing {
		logger.Printf("plugin directory %s does not exist: loaded 0 %s plugins", *dir, s.PluginType)
	}
	for _, p := range plugins {
		v := p.Metadata[sdk.MetaVersion]
		if v == "" {
			v = "unknown"
		}
		logger.Printf("loaded %s plugin %q from %s (version %s)", p.Type, p.Name, p.Path, v)
	}
	if err != nil {
		logger.Printf("%v", err)
		return exitFail
	}
	health := healthz{
		Status:      "ok",
		Service:     s.Name,
		Version:     version.Version,
		Combination: version.Combination,
		Plugins:     append([]*loader.Plugin{}, plugins...),
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(health)
	})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		logger.Printf("%v", err)
		return exitFail
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Printf("%s %s (%s, %s) listening on %s with %d %s plugin(s)",
		s.Name, version.Version, version.Combination, runtime.Version(), ln.Addr(), len(plugins), s.PluginType)

	select {
	case err := <-errc:
		logger.Printf("%v", err)
		return exitFail
	case <-ctx.Done():
	}
	stop()
	logger.Printf("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		logger.Printf("shutdown: %v", err)
		return exitFail
	}
	return exitOK
}

// healthz is the body of GET /healthz.
type healthz struct {
	Status      string           `json:"status"`
	Service     string           `json:"service"`
	Version     string           `json:"version"`
	Combination string           `json:"combination"`
	Plugins     []*loader.Plugin `json:"plugins"`
}

// checkResult is the --json output of check-plugin.
type checkResult struct {
	OK       bool              `json:"ok"`
	Service  string            `json:"service"`
	Type     string            `json:"type"`
	Name     string            `json:"name,omitempty"`
	Path     string            `json:"path"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Step     string            `json:"step,omitempty"`
	Error    string            `json:"error,omitempty"`
}

func (s *Service) checkPlugin(args []string) int {
	fs := flag.NewFlagSet(s.Name+" check-plugin", flag.ContinueOnError)
	fs.SetOutput(s.Stderr)
	fs.Usage = s.usage(fs)
	asJSON := fs.Bool("json", false, "check-plugin: print the result as a JSON object on stdout")
	pos, err := parse(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if len(pos) != 1 {
		fmt.Fprintf(s.Stderr, "usage: %s check-plugin [--json] PATH\n", s.Name)
		return exitUsage
	}
	path := pos[0]

	res := checkResult{Service: s.Name, Type: s.PluginType, Path: path}
	p, err := loader.Load(context.Background(), path, s.PluginType, map[string]string{})
	if err != nil {
		fmt.Fprintf(s.Stderr, "check-plugin: %v\n", err)
		if *asJSON {
			res.Error = err.Error()
			var le *loader.LoadError
			if errors.As(err, &le) {
				res.Step = le.Step
			}
			if _, name, ok := loader.ParseFileName(path); ok {
				res.Name = name
			}
			s.writeJSON(res)
		}
		return exitFail
	}
	if *asJSON {
		res.OK, res.Name, res.Metadata = true, p.Name, p.Metadata
		s.writeJSON(res)
	} else {
		fmt.Fprintf(s.Stdout, "ok: %s plugin %q loaded from %s\n", p.Type, p.Name, path)
	}
	return exitOK
}

func (s *Service) writeJSON(v any) {
	enc := json.NewEncoder(s.Stdout)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// healthcheck is the image HEALTHCHECK: minimal runtime images have no curl or
// wget, so the service probes its own /healthz and prints the body.
func (s *Service) healthcheck(args []string) int {
	if len(args) > 1 {
		fmt.Fprintf(s.Stderr, "usage: %s healthcheck [URL]\n", s.Name)
		return exitUsage
	}
	url := "http://127.0.0.1:8080/healthz"
	if len(args) == 1 {
		url = args[0]
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintf(s.Stderr, "healthcheck: %v\n", err)
		return exitFail
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		fmt.Fprintf(s.Stderr, "healthcheck: %s: status %d %v\n", url, resp.StatusCode, err)
		return exitFail
	}
	s.Stdout.Write(body)
	return exitOK
}
