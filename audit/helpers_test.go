package audit

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// testLogger returns a logger into a buffer the test can read.
func testLogger() (*slog.Logger, *testenv.SyncBuffer) {
	buf := &testenv.SyncBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// fixedClock is a clock that advances one second per call, from a fixed start.
func fixedClock() func() time.Time {
	t := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	return func() time.Time {
		t = t.Add(time.Second)
		return t
	}
}

// newTrail opens a trail writing to DIR/audit.log with the key in DIR/key; mod adjusts
// the config. It is closed when the test ends unless the test closed it.
func newTrail(t testing.TB, mod ...func(*Config)) (*Trail, Config) {
	t.Helper()
	dir := t.TempDir()
	log, _ := testLogger()
	cfg := Config{File: filepath.Join(dir, "audit.log"), Dir: filepath.Join(dir, "key"), Logger: log, Now: fixedClock()}
	for _, m := range mod {
		m(&cfg)
	}
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close(context.Background()) })
	return tr, cfg
}

// emitN emits n push events for repository repo.
func emitN(t testing.TB, tr *Trail, n int, repo string) {
	t.Helper()
	for i := range n {
		ev := Event{Time: time.Date(2026, 11, 30, 12, 0, i, 0, time.UTC), Kind: KindPush, User: "alice", Auth: "basic",
			Repository: repo, Reference: "v1", Status: 201}
		if err := tr.Emit(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
}

// readLines returns a file's lines without newlines.
func readLines(t testing.TB, file string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	return out
}

func writeLines(t testing.TB, file string, lines [][]byte) {
	t.Helper()
	var b []byte
	for _, l := range lines {
		b = append(append(b, l...), '\n')
	}
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func publicKey(t testing.TB, cfg Config) []byte {
	t.Helper()
	pub, err := LoadPublicKey(filepath.Join(cfg.Dir, PublicKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
