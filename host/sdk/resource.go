package sdk

import (
	"context"
	"io"

	"github.com/google/uuid"
)

// ResourceClient is implemented by resource plugins (loaded by dfdaemon).
type ResourceClient interface {
	// GetContentLength returns the length of the resource, or -1 if unknown.
	GetContentLength(ctx context.Context, req *Request) (int64, error)
	// Download returns the content of the resource; the caller closes it.
	Download(ctx context.Context, req *Request) (io.ReadCloser, error)
}

// Request is a request for a resource.
type Request struct {
	URL    string
	Header map[string]string
	ID     string
}

// NewRequest returns a request for url with an empty header and a fresh random ID.
func NewRequest(url string) *Request {
	return &Request{URL: url, Header: map[string]string{}, ID: uuid.NewString()}
}
