package sdk

import "testing"

func TestNewRequest(t *testing.T) {
	a, b := NewRequest("dfs://x/y"), NewRequest("dfs://x/y")
	if a.URL != "dfs://x/y" || a.Header == nil {
		t.Fatalf("bad request %+v", a)
	}
	if a.ID == "" || a.ID == b.ID {
		t.Fatalf("request IDs must be unique and non-empty: %q %q", a.ID, b.ID)
	}
}
