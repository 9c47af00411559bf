package audit

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestFiles: the kept trail is the rotated files that exist, oldest first, then the log.
func TestFiles(t *testing.T) {
	log := filepath.Join(t.TempDir(), "audit.log")
	for _, name := range []string{log, log + ".1", log + ".3", log + ".9"} {
		if err := os.WriteFile(name, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{log + ".3", log + ".1", log} // .9 is beyond keep
	if got := Files(log, 5); !slices.Equal(got, want) {
		t.Errorf("Files = %v, want %v", got, want)
	}
}
