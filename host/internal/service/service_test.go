package service

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

func run(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	s := &Service{Name: "scheduler", PluginType: "scheduler", Stdout: &out, Stderr: &errb}
	code = s.Run(args)
	return code, out.String(), errb.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := run("version")
	if want := "scheduler dev unknown " + runtime.Version() + "\n"; code != 0 || out != want {
		t.Fatalf("version: %d %q, want %q", code, out, want)
	}
}

func TestCheckPluginFailures(t *testing.T) {
	code, _, errs := run("check-plugin", "/nowhere/d7y-resource-plugin-dfs.so")
	if code != 1 || !strings.HasPrefix(errs, "check-plugin: ") || !strings.Contains(errs, "d7y-scheduler-plugin-<name>.so") {
		t.Fatalf("wrong type: %d %q", code, errs)
	}
	code, out, _ := run("check-plugin", "/nowhere/d7y-scheduler-plugin-evaluator.so", "--json")
	var res checkResult
	if code != 1 || json.Unmarshal([]byte(out), &res) != nil || res.OK || res.Step != "open" || res.Name != "evaluator" {
		t.Fatalf("missing file --json: %d %q", code, out)
	}
	if code, _, _ := run("check-plugin"); code != 2 {
		t.Fatalf("no path: exit %d, want 2", code)
	}
}

func TestHealthcheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`{"status":"ok"}`))
	}))
	defer srv.Close()
	if code, out, _ := run("healthcheck", srv.URL+"/healthz"); code != 0 || out != `{"status":"ok"}` {
		t.Fatalf("healthy: %d %q", code, out)
	}
	if code, _, errs := run("healthcheck", srv.URL+"/missing"); code != 1 || !strings.Contains(errs, "status 404") {
		t.Fatalf("unhealthy: %d %q", code, errs)
	}
	if code, _, _ := run("healthcheck", "a", "b"); code != 2 {
		t.Fatalf("two urls: exit %d, want 2", code)
	}
}
