package registry

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestDataWriter appends chunks of awkward sizes and alignments and checks the file holds
// exactly their concatenation, on the test's disk (O_DIRECT where the filesystem has
// it) and on tmpfs (which refuses O_DIRECT, so every byte takes the cached path).
func TestDataWriter(t *testing.T) {
	dirs := map[string]string{"tempdir": t.TempDir()}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "datawriter")
		if err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			dirs["tmpfs"] = d
		}
	}
	const K = 1024
	cases := []struct {
		name   string
		start  int   // bytes already in the file
		chunks []int // sizes; negative = taken from a misaligned offset of an aligned buffer
	}{
		{"whole blocks", 0, []int{256 * K, 256 * K, 64 * K}},
		{"tail after blocks", 0, []int{256 * K, 256 * K, 1000}},
		{"tail inside a chunk", 0, []int{256*K + 17}},
		{"small first", 0, []int{1, 256 * K}},
		{"misaligned buffer", 0, []int{-(8 * K), 256 * K}},
		{"resume aligned", 8 * K, []int{256 * K, 3}},
		{"resume unaligned", 8*K + 5, []int{256 * K, 256 * K}},
		{"empty", 0, []int{0, 0}},
	}
	for fsName, dir := range dirs {
		for _, tc := range cases {
			t.Run(fsName+"/"+tc.name, func(t *testing.T) {
				path := filepath.Join(dir, tc.name)
				var want bytes.Buffer
				pre := randBytes(t, tc.start)
				want.Write(pre)
				if err := os.WriteFile(path, pre, 0o644); err != nil {
					t.Fatal(err)
				}
				w, err := openDataWriter(path, int64(tc.start))
				if err != nil {
					t.Fatal(err)
				}
				usedDirect := false
				for _, size := range tc.chunks {
					var p []byte
					if size < 0 {
						buf := alignedBuffer(-size + 1)
						copy(buf, randBytes(t, -size+1))
						p = buf[1:]
					} else {
						p = alignedBuffer(size)
						copy(p, randBytes(t, size))
					}
					if w.direct != nil {
						usedDirect = true
					}
					n, err := w.Write(p)
					if err != nil || n != len(p) {
						t.Fatalf("Write(%d bytes) = %d, %v", len(p), n, err)
					}
					want.Write(p)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want.Bytes()) {
					t.Fatalf("file holds %d bytes, want %d (contents differ)", len(got), want.Len())
				}
				// On Linux, where the filesystem takes O_DIRECT, an aligned start must use it.
				if runtime.GOOS == "linux" && tc.start%directAlign == 0 && len(tc.chunks) > 0 &&
					tc.chunks[0] >= directAlign && !usedDirect && takesDirect(dir) {
					t.Error("an aligned upload did not use O_DIRECT")
				}
			})
		}
	}
}

func TestAlignedBuffer(t *testing.T) {
	for _, n := range []int{0, 1, 4095, 4096, 256 << 10} {
		b := alignedBuffer(n)
		if len(b) != n || cap(b) != n {
			t.Fatalf("alignedBuffer(%d): len %d cap %d", n, len(b), cap(b))
		}
		if n > 0 && addrOf(b)%directAlign != 0 {
			t.Fatalf("alignedBuffer(%d) starts at %#x", n, addrOf(b))
		}
	}
}

func randBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// takesDirect reports whether dir's filesystem opens files with O_DIRECT (tmpfs before
// Linux 6.6 and some FUSE filesystems do not).
func takesDirect(dir string) bool {
	probe := filepath.Join(dir, ".direct-probe")
	if err := os.WriteFile(probe, nil, 0o644); err != nil {
		return false
	}
	defer os.Remove(probe)
	f, err := openDirect(probe)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// TestDataWriterRefusal: a direct write the filesystem refuses (here: at an unaligned
// offset, which O_DIRECT rejects with EINVAL) falls back to the cached path and loses
// nothing.
func TestDataWriterRefusal(t *testing.T) {
	dir := t.TempDir()
	if runtime.GOOS != "linux" || !takesDirect(dir) {
		t.Skip("no O_DIRECT here")
	}
	path := filepath.Join(dir, "data")
	pre := randBytes(t, 5)
	if err := os.WriteFile(path, pre, 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := openDataWriter(path, 0) // lies about the size: the file is not aligned
	if err != nil {
		t.Fatal(err)
	}
	if w.direct == nil {
		t.Fatal("expected a direct descriptor")
	}
	p := alignedBuffer(64 << 10)
	copy(p, randBytes(t, len(p)))
	if n, err := w.Write(p); err != nil || n != len(p) {
		t.Fatalf("Write = %d, %v; want the cached fallback to take it", n, err)
	}
	if w.direct != nil {
		t.Error("still writing directly after a refusal")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, append(pre, p...)) {
		t.Fatalf("file holds %d bytes, want %d", len(got), len(pre)+len(p))
	}
}
