package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/config"
)

// TestDataLock: gateways share the data lock; gc takes it alone, and refuses to run while
// any gateway holds it.
func TestDataLock(t *testing.T) {
	data := t.TempDir()
	cfg := config.Defaults()
	cfg.Data = data
	root := registryRoot(cfg)
	a, err := lockData(root, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := lockData(root, false)
	if err != nil {
		t.Fatalf("a second gateway on the same directory: %v", err)
	}
	if _, err := lockData(root, true); !errors.Is(err, errDataLocked) {
		t.Fatalf("exclusive lock while shared: %v, want errDataLocked", err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"gc", "--delete", "--data", data}, nil, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "stop it first") {
		t.Errorf("gc while a gateway serves: exit %d, stderr %q; want 1 and a refusal", code, stderr.String())
	}
	a.Close()
	b.Close()
	stdout.Reset()
	if code := run(t.Context(), []string{"gc", "--delete", "--data", data}, nil, &stdout, &stderr); code != 0 {
		t.Errorf("gc once the gateways stopped: exit %d, stderr %q", code, stderr.String())
	}
	ex, err := lockData(root, true)
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	if _, err := lockData(root, false); !errors.Is(err, errDataLocked) {
		t.Errorf("a gateway starting while gc runs: %v, want errDataLocked", err)
	}
}
