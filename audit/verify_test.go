package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// recompute rewrites the prev of every line from index from on, so the chain holds again
// after an edit: what an attacker without the key can do.
func recompute(lines [][]byte, from int) {
	for i := max(from, 1); i < len(lines); i++ {
		l, err := parseLine(lines[i])
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(lines[i-1])
		lines[i] = bytes.Replace(lines[i], []byte(`"prev":"`+l.Prev+`"`), []byte(`"prev":"`+hex.EncodeToString(sum[:])+`"`), 1)
	}
}

// TestVerifyDetects builds a trail of 10 records with a checkpoint every 4 and checks
// that Verify accepts it as written and names the first bad line of each change.
func TestVerifyDetects(t *testing.T) {
	tr, cfg := newTrail(t, func(c *Config) { c.CheckpointEvery = 4 })
	emitN(t, tr, 10, "team/app")
	if err := tr.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	orig := readLines(t, cfg.File)
	// seq 1 start checkpoint, 2-5 records, 6 checkpoint, 7-10, 11 checkpoint, 12-13, 14 shutdown.
	if len(orig) != 14 {
		t.Fatalf("%d lines, want 14", len(orig))
	}
	pub := publicKey(t, cfg)
	clone := func() [][]byte {
		out := make([][]byte, len(orig))
		for i, l := range orig {
			out[i] = slices.Clone(l)
		}
		return out
	}
	edit := func(l []byte) []byte { return bytes.Replace(l, []byte(`"user":"alice"`), []byte(`"user":"bobby"`), 1) }

	tests := []struct {
		name   string
		change func([][]byte) [][]byte
		line   int // 1-based line Verify must name
		kind   string
	}{
		{"intact", func(l [][]byte) [][]byte { return l }, 0, ""},
		{"edited", func(l [][]byte) [][]byte { l[7] = edit(l[7]); return l }, 8, ProblemEdited},
		{"edited seq", func(l [][]byte) [][]byte {
			l[7] = bytes.Replace(l[7], []byte(`"seq":8,`), []byte(`"seq":80,`), 1)
			return l
		}, 8, ProblemEdited},
		{"edited last record before shutdown checkpoint", func(l [][]byte) [][]byte { l[12] = edit(l[12]); return l }, 13, ProblemEdited},
		{"not json", func(l [][]byte) [][]byte { l[4] = []byte("hello"); return l }, 5, ProblemEdited},
		{"deleted", func(l [][]byte) [][]byte { return slices.Delete(l, 7, 8) }, 8, ProblemDeleted},
		{"deleted two", func(l [][]byte) [][]byte { return slices.Delete(l, 7, 9) }, 8, ProblemDeleted},
		{"reordered adjacent", func(l [][]byte) [][]byte { l[7], l[8] = l[8], l[7]; return l }, 8, ProblemReordered},
		{"reordered moved down", func(l [][]byte) [][]byte {
			moved := l[6]
			l = slices.Delete(l, 6, 7)
			return slices.Insert(l, 8, moved)
		}, 7, ProblemReordered},
		{"inserted copy", func(l [][]byte) [][]byte { return slices.Insert(l, 8, edit(slices.Clone(l[7]))) }, 9, ProblemInserted},
		{"inserted linked", func(l [][]byte) [][]byte {
			// A forged line that links to line 8 and takes seq 9: the real line 9 then
			// follows line 8 too.
			forged := bytes.Replace(edit(slices.Clone(l[8])), []byte(`"request_id"`), []byte(`"x"`), 1)
			return slices.Insert(l, 8, forged)
		}, 9, ProblemInserted},
		{"recomputed after edit", func(l [][]byte) [][]byte { l[7] = edit(l[7]); recompute(l, 8); return l }, 11, ProblemRecomputed},
		{"recomputed after delete", func(l [][]byte) [][]byte { l = slices.Delete(l, 7, 8); recompute(l, 7); return l }, 8, ProblemDeleted},
		{"checkpoint removed and chain recomputed", func(l [][]byte) [][]byte {
			l = slices.Delete(l, 5, 6)    // the checkpoint at seq 6
			for i := 5; i < len(l); i++ { // renumber, as a careful forger would
				ln, _ := parseLine(l[i])
				l[i] = bytes.Replace(l[i], []byte(`"seq":`+itoa(ln.Seq)+`,`), []byte(`"seq":`+itoa(ln.Seq-1)+`,`), 1)
			}
			recompute(l, 5)
			return l
		}, 6, ProblemDeleted},
		{"checkpoint edited", func(l [][]byte) [][]byte {
			l[5] = bytes.Replace(l[5], []byte(`"reason":"interval"`), []byte(`"reason":"rotation"`), 1)
			recompute(l, 6)
			return l
		}, 6, ProblemRecomputed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "audit.log")
			writeLines(t, file, tt.change(clone()))
			rep, err := Verify([]string{file}, pub)
			if err != nil {
				t.Fatal(err)
			}
			if tt.kind == "" {
				if !rep.OK() {
					t.Fatalf("intact trail: %v", rep.Problem)
				}
				if rep.Records != 10 || rep.Checkpoints != 4 || rep.FirstSeq != 1 || rep.LastSeq != 14 {
					t.Errorf("report %+v", rep)
				}
				return
			}
			if rep.OK() {
				t.Fatalf("change not detected; report %+v", rep)
			}
			t.Logf("%v", rep.Problem)
			if rep.Problem.Kind != tt.kind || rep.Problem.At.Line != tt.line {
				t.Errorf("problem %v, want %s at line %d", rep.Problem, tt.kind, tt.line)
			}
		})
	}
}

func itoa(n uint64) string { return string(appendUint(nil, n)) }

func appendUint(b []byte, n uint64) []byte {
	if n >= 10 {
		b = appendUint(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

// TestVerifyWithoutKey still checks the chain, and says the signatures were not.
func TestVerifyWithoutKey(t *testing.T) {
	tr, cfg := newTrail(t)
	emitN(t, tr, 3, "a")
	tr.Close(t.Context())
	rep, err := Verify([]string{cfg.File}, nil)
	if err != nil || !rep.OK() {
		t.Fatalf("%v %v", rep.Problem, err)
	}
	if !strings.Contains(strings.Join(rep.Notes, "\n"), "not checked") {
		t.Errorf("notes %q do not say signatures were not checked", rep.Notes)
	}
	other, err := LoadSigner(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rep, _ = Verify([]string{cfg.File}, other.Public())
	if rep.OK() || rep.Problem.Kind != ProblemRecomputed {
		t.Errorf("another key: %v, want recomputed (signed by another key)", rep.Problem)
	}
}

// TestRotationKeepsTheChain rotates by size and by reopen (an external logrotate), then
// verifies the files given in any order, and the restarted trail continuing them.
func TestRotationKeepsTheChain(t *testing.T) {
	tr, cfg := newTrail(t, func(c *Config) { c.MaxSize = 2048; c.Keep = 50 })
	emitN(t, tr, 20, "team/app")
	// logrotate: rename, then SIGHUP.
	if err := os.Rename(cfg.File, cfg.File+"-ext"); err != nil {
		t.Fatal(err)
	}
	if err := tr.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	emitN(t, tr, 3, "team/app")
	if err := tr.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Restart on the same file: the chain continues.
	tr2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	emitN(t, tr2, 2, "team/app")
	tr2.Close(t.Context())

	files, _ := filepath.Glob(cfg.File + "*")
	if len(files) < 4 {
		t.Fatalf("files %v: want several rotations", files)
	}
	for _, f := range files {
		lines := readLines(t, f)
		last, _ := parseLine(lines[len(lines)-1])
		if f != cfg.File && last.Kind != KindCheckpoint {
			t.Errorf("%s ends with %s, want a checkpoint", f, last.Kind)
		}
	}
	slices.Reverse(files)
	rep, err := Verify(files, publicKey(t, cfg))
	if err != nil || !rep.OK() {
		t.Fatalf("verify %v: %v %v", files, rep.Problem, err)
	}
	if rep.Records != 25 {
		t.Errorf("%d records, want 25", rep.Records)
	}
	// A rotated file missing from the middle is a deletion.
	var rest []string
	for _, f := range files {
		if f != cfg.File+".1" {
			rest = append(rest, f)
		}
	}
	if rep, _ := Verify(rest, publicKey(t, cfg)); rep.OK() || rep.Problem.Kind != ProblemDeleted {
		t.Errorf("without %s.1: %v, want deleted", cfg.File, rep.Problem)
	}
}

// TestRestartAfterCrash: a last line cut short is removed at the next start, the chain
// continues, and the records written before the crash get signed.
func TestRestartAfterCrash(t *testing.T) {
	tr, cfg := newTrail(t)
	emitN(t, tr, 3, "a")
	// A crash: no shutdown checkpoint, and a write cut short.
	tr.mu.Lock()
	tr.closed = true
	tr.mu.Unlock()
	tr.file.close()
	f, err := os.OpenFile(cfg.File, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"v":1,"seq":5,"prev":"00`)
	f.Close()
	rep, _ := Verify([]string{cfg.File}, publicKey(t, cfg))
	if !rep.OK() {
		t.Fatalf("before restart: %v", rep.Problem)
	}
	tr2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	emitN(t, tr2, 1, "a")
	tr2.Close(t.Context())
	rep, err = Verify([]string{cfg.File}, publicKey(t, cfg))
	if err != nil || !rep.OK() {
		t.Fatalf("after restart: %v %v", rep.Problem, err)
	}
	if rep.Records != 4 || len(rep.Notes) != 0 {
		t.Errorf("records %d, notes %q", rep.Records, rep.Notes)
	}
}

// TestReplicasShareDir: replicas sharing a data directory (each with its own log file)
// racing to create the key end up signing with the one key on disk, and keep their own
// chain state: an emptied file continues its own chain, not the other replica's.
func TestReplicasShareDir(t *testing.T) {
	dir, logs := t.TempDir(), t.TempDir()
	log, _ := testLogger()
	cfgs := []Config{
		{File: filepath.Join(logs, "gw1.log"), Dir: dir, Logger: log},
		{File: filepath.Join(logs, "gw2.log"), Dir: dir, Logger: log},
	}
	trails := make([]*Trail, 2)
	errs := make(chan error, 2)
	for i := range cfgs {
		go func() {
			var err error
			trails[i], err = New(cfgs[i])
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	emitN(t, trails[0], 3, "a")
	emitN(t, trails[1], 5, "b")
	for i, tr := range trails {
		tr.Close(t.Context())
		// logrotate moves the file away: the next start continues from this replica's head.
		os.Rename(cfgs[i].File, cfgs[i].File+".1")
		tr2, err := New(cfgs[i])
		if err != nil {
			t.Fatal(err)
		}
		tr2.Close(t.Context())
		rep, err := Verify([]string{cfgs[i].File + ".1", cfgs[i].File}, publicKey(t, cfgs[i]))
		if err != nil || !rep.OK() {
			t.Errorf("replica %d: %v %v", i+1, rep.Problem, err)
		}
	}
}
