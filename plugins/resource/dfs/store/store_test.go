package store

import (
	"bytes"
	"testing"
)

func TestStore(t *testing.T) {
	s := New()
	if got := s.Get("/a/b"); !bytes.Equal(got, Generate("/a/b")) || s.Len("/a/b") != int64(len(got)) {
		t.Fatalf("generated content %q, len %d", got, s.Len("/a/b"))
	}
	s.Put("/a/b", []byte("hello"))
	if got := s.Get("/a/b"); string(got) != "hello" || s.Len("/a/b") != 5 {
		t.Fatalf("stored content %q, len %d", got, s.Len("/a/b"))
	}
}
