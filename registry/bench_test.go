package registry

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// The benchmarks run the registry alone behind a loopback httptest server with the
// standard client, as the gateway would call it in-process over a real connection.

func BenchmarkBlobGet(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20, 16 << 20} {
		b.Run(strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
			srv := httptest.NewServer(newTestRegistry(b))
			defer srv.Close()
			blob := bytes.Repeat([]byte{'x'}, size)
			d := pushBlob(b, srv, "bench", blob)
			url := srv.URL + "/v2/bench/blobs/" + d
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				resp, err := srv.Client().Get(url)
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || n != int64(size) {
					b.Fatalf("GET = %d, %d bytes", resp.StatusCode, n)
				}
			}
		})
	}
}

// BenchmarkBlobPut is a monolithic POST ?digest= of a new blob each time: stream to
// disk, hash, fsync, rename, link (with its own fsync). "again" re-pushes one blob, the
// path a client takes when it does not HEAD first.
func BenchmarkBlobPut(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20, 16 << 20} {
		b.Run(strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
			srv := httptest.NewServer(newTestRegistry(b))
			defer srv.Close()
			blob := bytes.Repeat([]byte{'y'}, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			i := uint64(0)
			for b.Loop() {
				i++
				binary.LittleEndian.PutUint64(blob, i)
				url := srv.URL + "/v2/bench/blobs/uploads/?digest=" + sha256Of(blob)
				resp, err := srv.Client().Post(url, "application/octet-stream", bytes.NewReader(blob))
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					b.Fatalf("POST = %d", resp.StatusCode)
				}
			}
		})
	}
}

func BenchmarkBlobPutAgain(b *testing.B) {
	srv := httptest.NewServer(newTestRegistry(b))
	defer srv.Close()
	blob := bytes.Repeat([]byte{'z'}, 1<<20)
	url := srv.URL + "/v2/bench/blobs/uploads/?digest=" + sha256Of(blob)
	b.SetBytes(int64(len(blob)))
	b.ReportAllocs()
	for b.Loop() {
		resp, err := srv.Client().Post(url, "application/octet-stream", bytes.NewReader(blob))
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("POST = %d", resp.StatusCode)
		}
	}
}

func BenchmarkManifestHead(b *testing.B) {
	srv := httptest.NewServer(newTestRegistry(b))
	defer srv.Close()
	man := imageManifest(b, srv, "bench", nil, []byte("layer"))
	putManifest(b, srv, "bench", "latest", man)
	for _, ref := range []string{"latest", sha256Of(man)} {
		name := "tag"
		if ref != "latest" {
			name = "digest"
		}
		b.Run(name, func(b *testing.B) {
			req, _ := http.NewRequest("HEAD", srv.URL+"/v2/bench/manifests/"+ref, nil)
			b.ReportAllocs()
			for b.Loop() {
				resp, err := srv.Client().Do(req)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("HEAD = %d", resp.StatusCode)
				}
			}
		})
	}
}

// BenchmarkManifestHeadHandler is the handler's own cost for a manifest HEAD, without the
// network: what the gateway pays per request in the bundled (in-process) mode.
func BenchmarkManifestHeadHandler(b *testing.B) {
	reg := newTestRegistry(b)
	srv := httptest.NewServer(reg)
	defer srv.Close()
	man := imageManifest(b, srv, "bench", nil, []byte("layer"))
	putManifest(b, srv, "bench", "latest", man)
	for _, ref := range []string{"latest", sha256Of(man)} {
		name := "tag"
		if ref != "latest" {
			name = "digest"
		}
		b.Run(name, func(b *testing.B) {
			req := httptest.NewRequest("HEAD", "/v2/bench/manifests/"+ref, nil)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				reg.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("HEAD = %d", w.Code)
				}
			}
		})
	}
}
