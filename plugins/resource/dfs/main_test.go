package main

import (
	"context"
	"io"
	"testing"

	"plugin-builder.dev/host/sdk"
)

func TestPlugin(t *testing.T) {
	var initFn sdk.InitFunc = DragonflyPluginInit
	impl, meta, err := initFn(nil)
	if err != nil {
		t.Fatal(err)
	}
	if meta[sdk.MetaType] != sdk.TypeResource || meta[sdk.MetaName] != "dfs" || meta[sdk.MetaScheme] != "dfs" {
		t.Fatalf("metadata %v", meta)
	}
	rc, ok := impl.(sdk.ResourceClient)
	if !ok {
		t.Fatalf("%T is not a sdk.ResourceClient", impl)
	}
	ctx := context.Background()
	req := sdk.NewRequest("dfs://bucket/dir/file")
	n, err := rc.GetContentLength(ctx, req)
	if err != nil || n <= 0 {
		t.Fatalf("GetContentLength = %d, %v", n, err)
	}
	body, err := rc.Download(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil || int64(len(b)) != n {
		t.Fatalf("Download read %d bytes (%v), want %d", len(b), err, n)
	}
	if _, err := rc.GetContentLength(ctx, sdk.NewRequest("http://x/y")); err == nil {
		t.Fatal("GetContentLength accepted an http URL")
	}
}
