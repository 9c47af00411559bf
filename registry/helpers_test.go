package registry

import (
	"log/slog"
	"testing"
)

func newTestRegistryAt(t testing.TB, root string) *Registry {
	t.Helper()
	reg, err := New(Options{Root: root, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func newTestRegistry(t testing.TB) *Registry { return newTestRegistryAt(t, t.TempDir()) }

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
