// Package store is the in-memory content store behind the dfs resource plugin.
package store

import (
	"fmt"
	"strings"
	"sync"
)

// Store maps object paths to content. A path that was never Put has generated
// content, so every path has a length.
type Store struct {
	mu      sync.RWMutex
	objects map[string][]byte
}

// New returns an empty store.
func New() *Store { return &Store{objects: map[string][]byte{}} }

// Put stores content at path.
func (s *Store) Put(path string, content []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[path] = append([]byte(nil), content...)
}

// Get returns the content at path, generating it if path was never Put.
func (s *Store) Get(path string) []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if b, ok := s.objects[path]; ok {
		return append([]byte(nil), b...)
	}
	return Generate(path)
}

// Len returns the length of the content at path.
func (s *Store) Len(path string) int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if b, ok := s.objects[path]; ok {
		return int64(len(b))
	}
	return int64(len(Generate(path)))
}

// Generate returns the deterministic content of a path that was never Put:
// one line naming the path, repeated once per path segment.
func Generate(path string) []byte {
	n := strings.Count(strings.Trim(path, "/"), "/") + 1
	return []byte(strings.Repeat(fmt.Sprintf("dfs object %s\n", path), n))
}
