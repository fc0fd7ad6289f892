// Package loader loads, validates and exercises plugins following the conventions
// of package sdk: file d7y-<type>-plugin-<name>.so exporting sdk.EntrySymbol.
package loader

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"plugin"
	"sort"
	"strings"
	"time"

	"plugin-builder.dev/host/sdk"
)

// Steps of Load, reported in LoadError.Step.
const (
	StepFileName  = "file name"
	StepOpen      = "open"
	StepLookup    = "lookup"
	StepSignature = "signature"
	StepInit      = "init"
	StepMetadata  = "metadata"
	StepInterface = "interface"
	StepExercise  = "exercise"
)

// ExerciseTimeout bounds the single call Load makes into a fresh plugin.
var ExerciseTimeout = 10 * time.Second

// Plugin is a loaded, validated plugin.
type Plugin struct {
	Type     string            `json:"type"`
	Name     string            `json:"name"`
	Path     string            `json:"path"`
	Metadata map[string]string `json:"metadata"`
	Impl     any               `json:"-"`
}

// LoadError is returned by Load: which plugin failed at which step.
type LoadError struct {
	Path string
	Step string
	Err  error
}

func (e *LoadError) Error() string { return fmt.Sprintf("plugin %s: %s: %v", e.Path, e.Step, e.Err) }
func (e *LoadError) Unwrap() error { return e.Err }

// FileName returns the file name of the plugin of type typ named name.
func FileName(typ, name string) string { return "d7y-" + typ + "-plugin-" + name + ".so" }

// Pattern returns the file name pattern of plugins of type typ, for messages.
func Pattern(typ string) string { return FileName(typ, "<name>") }

// ParseFileName splits the base name of path into plugin type and name.
// It reports false unless the name is d7y-<type>-plugin-<name>.so with a known
// type and a non-empty name.
func ParseFileName(path string) (typ, name string, ok bool) {
	base := filepath.Base(path)
	for _, t := range []string{sdk.TypeResource, sdk.TypeScheduler, sdk.TypeManager} {
		prefix := "d7y-" + t + "-plugin-"
		if n, found := strings.CutPrefix(base, prefix); found {
			if n, found = strings.CutSuffix(n, ".so"); found && n != "" {
				return t, n, true
			}
		}
	}
	return "", "", false
}

// Load opens the plugin at path, which must be a plugin of type wantType, calls
// its entry function with options, validates the result and exercises it once.
// Every error is a *LoadError.
func Load(ctx context.Context, path, wantType string, options map[string]string) (*Plugin, error) {
	fail := func(step string, format string, args ...any) (*Plugin, error) {
		return nil, &LoadError{Path: path, Step: step, Err: fmt.Errorf(format, args...)}
	}
	typ, name, ok := ParseFileName(path)
	if !ok {
		return fail(StepFileName, "file name %q does not match %s", filepath.Base(path), Pattern(wantType))
	}
	if typ != wantType {
		return fail(StepFileName, "%q is a %s plugin, want a %s plugin named %s", filepath.Base(path), typ, wantType, Pattern(wantType))
	}

	if _, err := os.Stat(path); err != nil {
		return nil, &LoadError{Path: path, Step: StepOpen, Err: err} // plugin.Open would only say "realpath failed"
	}
	p, err := plugin.Open(path)
	if err != nil {
		return nil, &LoadError{Path: path, Step: StepOpen, Err: err}
	}
	sym, err := p.Lookup(sdk.EntrySymbol)
	if err != nil {
		return nil, &LoadError{Path: path, Step: StepLookup, Err: err}
	}
	var initFn sdk.InitFunc
	switch f := sym.(type) {
	case sdk.InitFunc: // func DragonflyPluginInit(...)
		initFn = f
	case *sdk.InitFunc: // var DragonflyPluginInit = func(...)
		if f != nil {
			initFn = *f
		}
	}
	if initFn == nil {
		return fail(StepSignature, "symbol %s has type %T, want %T", sdk.EntrySymbol, sym, sdk.InitFunc(nil))
	}

	if options == nil {
		options = map[string]string{}
	}
	impl, meta, err := callInit(initFn, options)
	if err != nil {
		return nil, &LoadError{Path: path, Step: StepInit, Err: err}
	}

	switch {
	case meta[sdk.MetaType] != wantType:
		return fail(StepMetadata, "metadata %q is %q, want %q", sdk.MetaType, meta[sdk.MetaType], wantType)
	case meta[sdk.MetaName] != name:
		return fail(StepMetadata, "metadata %q is %q, want %q (the name in the file name)", sdk.MetaName, meta[sdk.MetaName], name)
	case wantType == sdk.TypeResource && meta[sdk.MetaScheme] == "":
		return fail(StepMetadata, "resource plugin metadata %q is empty", sdk.MetaScheme)
	}

	pl := &Plugin{Type: typ, Name: name, Path: path, Metadata: meta, Impl: impl}
	if err := checkInterface(pl); err != nil {
		return nil, &LoadError{Path: path, Step: StepInterface, Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, ExerciseTimeout)
	defer cancel()
	if err := exercise(ctx, pl); err != nil {
		return nil, &LoadError{Path: path, Step: StepExercise, Err: err}
	}
	return pl, nil
}

// LoadDir loads every plugin of type typ in dir, in file name order, and stops at
// the first failure, returning the plugins loaded before it with the error.
// A missing dir holds no plugins; missing reports that case.
func LoadDir(ctx context.Context, dir, typ string, options map[string]string) (plugins []*Plugin, missing bool, err error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("plugin directory: %w", err)
	}
	prefix := "d7y-" + typ + "-plugin-"
	var paths []string
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, prefix) && strings.HasSuffix(n, ".so") {
			paths = append(paths, filepath.Join(dir, n))
		}
	}
	sort.Strings(paths)
	for _, path := range paths {
		p, err := Load(ctx, path, typ, options)
		if err != nil {
			return plugins, false, err
		}
		plugins = append(plugins, p)
	}
	return plugins, false, nil
}

func callInit(f sdk.InitFunc, options map[string]string) (impl any, meta map[string]string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s panicked: %v", sdk.EntrySymbol, r)
		}
	}()
	impl, meta, err = f(options)
	if err == nil && impl == nil {
		err = fmt.Errorf("%s returned a nil implementation", sdk.EntrySymbol)
	}
	return impl, meta, err
}

func checkInterface(p *Plugin) error {
	var ok bool
	var want string
	switch p.Type {
	case sdk.TypeResource:
		_, ok = p.Impl.(sdk.ResourceClient)
		want = "sdk.ResourceClient"
	case sdk.TypeScheduler:
		_, ok = p.Impl.(sdk.Evaluator)
		want = "sdk.Evaluator"
	case sdk.TypeManager:
		_, ok = p.Impl.(sdk.Searcher)
		want = "sdk.Searcher"
	default:
		return fmt.Errorf("unknown plugin type %q", p.Type)
	}
	if !ok {
		return fmt.Errorf("implementation of type %T does not implement %s", p.Impl, want)
	}
	return nil
}

// exercise calls the plugin once, in a goroutine so that a plugin ignoring ctx
// cannot hang the host and a panic becomes an error.
func exercise(ctx context.Context, p *Plugin) error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("panic: %v", r)
			}
		}()
		done <- exerciseOnce(ctx, p)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("no answer: %w", ctx.Err())
	}
}

func exerciseOnce(ctx context.Context, p *Plugin) error {
	switch p.Type {
	case sdk.TypeResource:
		req := sdk.NewRequest(p.Metadata[sdk.MetaScheme] + "://plugin-builder/check")
		if _, err := p.Impl.(sdk.ResourceClient).GetContentLength(ctx, req); err != nil {
			return fmt.Errorf("GetContentLength(%s): %w", req.URL, err)
		}
	case sdk.TypeScheduler:
		e := p.Impl.(sdk.Evaluator)
		parents := []*sdk.Peer{
			{ID: "peer-1", Host: "host-1", FinishedPieces: 10, UploadSuccessCount: 5},
			{ID: "peer-2", Host: "host-2", FinishedPieces: 90, UploadSuccessCount: 50, UploadFailedCount: 1},
			{ID: "peer-3", Host: "host-3", FinishedPieces: 50, UploadFailedCount: 20},
		}
		child := &sdk.Peer{ID: "child", Host: "host-4"}
		got := e.EvaluateParents(parents, child, 100)
		if len(got) != len(parents) {
			return fmt.Errorf("EvaluateParents returned %d peers for %d parents", len(got), len(parents))
		}
		for i, peer := range got {
			if peer == nil {
				return fmt.Errorf("EvaluateParents returned a nil peer at index %d", i)
			}
		}
		e.IsBadNode(parents[2])
	case sdk.TypeManager:
		clusters := []sdk.SchedulerCluster{
			{ID: 1, Name: "cluster-1", Scopes: map[string]string{"idc": "idc-1", "location": "east"}},
			{ID: 2, Name: "cluster-2", Scopes: map[string]string{"idc": "idc-2", "location": "west"}},
		}
		got, err := p.Impl.(sdk.Searcher).FindSchedulerClusters(ctx, clusters, "10.0.0.1", "plugin-builder-check", map[string]string{"idc": "idc-2"})
		if err != nil {
			return fmt.Errorf("FindSchedulerClusters: %w", err)
		}
		if len(got) == 0 {
			return errors.New("FindSchedulerClusters returned no clusters for 2 candidates")
		}
	default:
		return fmt.Errorf("unknown plugin type %q", p.Type)
	}
	return nil
}
