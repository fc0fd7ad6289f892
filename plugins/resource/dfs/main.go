// Command dfs is a resource plugin for dfdaemon serving dfs:// URLs from an
// in-memory store. Build it with go build -buildmode=plugin into
// d7y-resource-plugin-dfs.so.
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"

	"plugin-builder.dev/host/sdk"
	"plugin-builder.dev/plugins/dfs/store"
)

const (
	name    = "dfs"
	scheme  = "dfs"
	version = "0.1.0"
)

type client struct{ store *store.Store }

var _ sdk.ResourceClient = (*client)(nil)

// path returns the object path of a dfs:// request URL.
func (c *client) path(ctx context.Context, req *sdk.Request) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	u, err := url.Parse(req.URL)
	if err != nil {
		return "", err
	}
	if u.Scheme != scheme {
		return "", fmt.Errorf("dfs: unsupported scheme %q in %s", u.Scheme, req.URL)
	}
	return u.Host + u.Path, nil
}

func (c *client) GetContentLength(ctx context.Context, req *sdk.Request) (int64, error) {
	p, err := c.path(ctx, req)
	if err != nil {
		return -1, err
	}
	return c.store.Len(p), nil
}

func (c *client) Download(ctx context.Context, req *sdk.Request) (io.ReadCloser, error) {
	p, err := c.path(ctx, req)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(c.store.Get(p))), nil
}

// DragonflyPluginInit is the plugin entry point.
func DragonflyPluginInit(options map[string]string) (any, map[string]string, error) {
	return &client{store: store.New()}, map[string]string{
		sdk.MetaType:    sdk.TypeResource,
		sdk.MetaName:    name,
		sdk.MetaScheme:  scheme,
		sdk.MetaVersion: version,
	}, nil
}

func main() {}
