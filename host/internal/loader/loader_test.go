package loader

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseFileName(t *testing.T) {
	for _, tc := range []struct{ path, typ, name string }{
		{"/usr/local/dragonfly/plugins/d7y-resource-plugin-dfs.so", "resource", "dfs"},
		{"d7y-scheduler-plugin-evaluator.so", "scheduler", "evaluator"},
		{"d7y-manager-plugin-my-searcher.so", "manager", "my-searcher"},
		{"d7y-scheduler-plugin-.so", "", ""},
		{"d7y-other-plugin-x.so", "", ""},
		{"d7y-scheduler-plugin-evaluator", "", ""},
		{"evaluator.so", "", ""},
	} {
		typ, name, ok := ParseFileName(tc.path)
		if typ != tc.typ || name != tc.name || ok != (tc.typ != "") {
			t.Errorf("ParseFileName(%q) = %q, %q, %v; want %q, %q", tc.path, typ, name, ok, tc.typ, tc.name)
		}
	}
	if got := FileName("scheduler", "evaluator"); got != "d7y-scheduler-plugin-evaluator.so" {
		t.Errorf("FileName = %q", got)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ path, typ, step, msg string }{
		{filepath.Join(dir, "x.so"), "scheduler", StepFileName, "does not match d7y-scheduler-plugin-<name>.so"},
		{filepath.Join(dir, "d7y-resource-plugin-dfs.so"), "scheduler", StepFileName, "is a resource plugin"},
		{filepath.Join(dir, "d7y-scheduler-plugin-evaluator.so"), "scheduler", StepOpen, "no such file"},
	} {
		_, err := Load(context.Background(), tc.path, tc.typ, nil)
		var le *LoadError
		if !errors.As(err, &le) || le.Step != tc.step || le.Path != tc.path || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Load(%q): %v; want step %q and %q", tc.path, err, tc.step, tc.msg)
		}
	}
}

func TestLoadDirMissing(t *testing.T) {
	plugins, missing, err := LoadDir(context.Background(), filepath.Join(t.TempDir(), "none"), "scheduler", nil)
	if len(plugins) != 0 || !missing || err != nil {
		t.Fatalf("LoadDir = %v, %v, %v", plugins, missing, err)
	}
}
