package main

import (
	"context"
	"slices"
	"testing"

	"plugin-builder.dev/host/sdk"
)

func TestSearcher(t *testing.T) {
	var initFn sdk.InitFunc = DragonflyPluginInit
	impl, meta, err := initFn(nil)
	if err != nil {
		t.Fatal(err)
	}
	if meta[sdk.MetaType] != sdk.TypeManager || meta[sdk.MetaName] != "searcher" {
		t.Fatalf("metadata %v", meta)
	}
	s, ok := impl.(sdk.Searcher)
	if !ok {
		t.Fatalf("%T is not a sdk.Searcher", impl)
	}
	clusters := []sdk.SchedulerCluster{
		{ID: 1, Name: "east", Scopes: map[string]string{"idc": "idc-1", "location": "east"}},
		{ID: 2, Name: "west", Scopes: map[string]string{"idc": "idc-2", "location": "west"}},
		{ID: 3, Name: "west-2", Scopes: map[string]string{"idc": "idc-3", "location": "west"}},
	}
	ctx := context.Background()
	ids := func(cs []sdk.SchedulerCluster) (out []uint64) {
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	for _, tc := range []struct {
		conditions map[string]string
		want       []uint64
	}{
		{map[string]string{"location": "west", "idc": "idc-3"}, []uint64{3, 2}},
		{map[string]string{"idc": "idc-1"}, []uint64{1}},
		{map[string]string{"idc": "nowhere"}, []uint64{1, 2, 3}},
		{nil, []uint64{1, 2, 3}},
	} {
		got, err := s.FindSchedulerClusters(ctx, clusters, "10.0.0.1", "host", tc.conditions)
		if err != nil {
			t.Fatal(err)
		}
		if g := ids(got); !slices.Equal(g, tc.want) {
			t.Errorf("conditions %v: got %v, want %v", tc.conditions, g, tc.want)
		}
	}
	if _, err := s.FindSchedulerClusters(ctx, nil, "", "", nil); err == nil {
		t.Fatal("no error for no clusters")
	}
}
