package main

import (
	"testing"

	"plugin-builder.dev/host/sdk"
)

func TestEvaluator(t *testing.T) {
	var initFn sdk.InitFunc = DragonflyPluginInit
	impl, meta, err := initFn(map[string]string{"bad-node-failures": "5"})
	if err != nil {
		t.Fatal(err)
	}
	if meta[sdk.MetaType] != sdk.TypeScheduler || meta[sdk.MetaName] != "evaluator" {
		t.Fatalf("metadata %v", meta)
	}
	e, ok := impl.(sdk.Evaluator)
	if !ok {
		t.Fatalf("%T is not a sdk.Evaluator", impl)
	}
	few := &sdk.Peer{ID: "few", FinishedPieces: 10, UploadSuccessCount: 5}
	many := &sdk.Peer{ID: "many", FinishedPieces: 90, UploadSuccessCount: 50, UploadFailedCount: 1}
	failing := &sdk.Peer{ID: "failing", FinishedPieces: 90, UploadSuccessCount: 1, UploadFailedCount: 20}
	parents := []*sdk.Peer{few, failing, many}
	got := e.EvaluateParents(parents, &sdk.Peer{ID: "child"}, 100)
	if len(got) != 3 || got[0] != many || got[1] != few || got[2] != failing {
		t.Fatalf("order %s %s %s, want many few failing", got[0].ID, got[1].ID, got[2].ID)
	}
	if parents[0] != few {
		t.Fatal("EvaluateParents reordered its input")
	}
	if !e.IsBadNode(failing) || e.IsBadNode(many) || e.IsBadNode(few) {
		t.Fatal("IsBadNode flags the wrong peers")
	}
	if _, _, err := initFn(map[string]string{"bad-node-failures": "x"}); err == nil {
		t.Fatal("invalid option accepted")
	}
}
