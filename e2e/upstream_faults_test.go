package e2e

import (
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestUpstreamFaults (issue 12): registry 2.8 behind the gateway (--upstream) is killed
// (SIGKILL) and restarted while clients push and pull. Every request the gateway cannot
// forward is answered at once with 502 UNAVAILABLE in the JSON envelope (HEAD: the status
// alone), without the upstream's address; a PATCH whose upstream dies is answered 502 while
// its client is still sending; a download cut mid-blob ends instead of hanging (recorded
// as aborted); go-containerregistry's retries complete a push cut mid-blob and a pull begun
// while the registry is down; skopeo 1.9 (Debian's), whose --retry-times retries neither a
// 502 nor a cut body, fails at once and pulling again completes. Digests are checked.
func TestUpstreamFaults(t *testing.T) {
	testenv.NeedTool(t, "skopeo")
	regRoot := t.TempDir()
	reg := testenv.StartRegistry2(t, regRoot)
	metricsAddr := freeAddr(t)
	g := startGateway(t, t.TempDir(), append(authFlags(t), "--upstream", "http://"+reg.Addr, "--metrics-listen", metricsAddr)...)
	client := &http.Client{Transport: g.Client.Transport, Timeout: 30 * time.Second} // a hang guard
	request := func(method, path string, body io.Reader) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, g.URL+path, body)
		req.SetBasicAuth(adminUser, adminPass)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v (the gateway hung or dropped the request)", method, path, err)
		}
		return resp
	}
	check502 := func(what string, resp *http.Response, head bool) {
		t.Helper()
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway {
			t.Errorf("%s: %s, want 502 (body %s)", what, resp.Status, body)
			return
		}
		if head {
			if len(body) != 0 {
				t.Errorf("%s: HEAD answered with a body", what)
			}
			return
		}
		var env struct {
			Errors []struct{ Code, Message string }
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" || json.Unmarshal(body, &env) != nil ||
			len(env.Errors) != 1 || env.Errors[0].Code != "UNAVAILABLE" {
			t.Errorf("%s: Content-Type %q, body %s; want the JSON envelope with UNAVAILABLE", what, ct, body)
		}
		if strings.Contains(string(body), reg.Addr) {
			t.Errorf("%s: the answer names the upstream's address: %s", what, body)
		}
	}

	// An image with one 48 MiB layer: long enough to cut a transfer in the middle.
	bigLayer, err := random.Layer(48<<20, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, bigLayer)
	if err != nil {
		t.Fatal(err)
	}
	want := mustDigest(t, img).String()
	layerDigest := mustLayerDigest(t, bigLayer)
	s := newSkopeo(t, g, adminUser, adminPass)
	// killWhen kills the registry once progress (bytes of the transfer that have landed)
	// reaches n, then starts it again a second later.
	killWhen := func(progress func() int64, n int64, done chan error) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for progress() < n {
			select {
			case err := <-done:
				t.Fatalf("the transfer ended (%v) before it could be cut", err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatal("the transfer never got going")
			}
			time.Sleep(5 * time.Millisecond)
		}
		reg.Kill()
		t.Logf("registry killed with %d MiB of the layer across", progress()>>20)
		time.Sleep(time.Second) // down for a moment, as a crashed registry is until restarted
		reg.Start()
	}

	t.Run("registry down", func(t *testing.T) {
		reg.Kill()
		defer reg.Start()
		check502("GET manifest", request("GET", "/v2/"+adminUser+"/app/manifests/1", nil), false)
		check502("HEAD manifest", request("HEAD", "/v2/"+adminUser+"/app/manifests/1", nil), true)
		check502("GET blob", request("GET", "/v2/"+adminUser+"/app/blobs/"+layerDigest, nil), false)
		check502("POST upload", request("POST", "/v2/"+adminUser+"/app/blobs/uploads/", nil), false)
		check502("GET tags", request("GET", "/v2/"+adminUser+"/app/tags/list", nil), false)
	})

	t.Run("killed mid-PATCH", func(t *testing.T) {
		resp := request("POST", "/v2/"+adminUser+"/app/blobs/uploads/", nil)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("POST upload: %s", resp.Status)
		}
		loc := resp.Header.Get("Location")
		pr, pw := io.Pipe()
		defer pw.Close()
		answered := make(chan *http.Response, 1)
		go func() {
			req, _ := http.NewRequestWithContext(t.Context(), "PATCH", g.abs(loc), pr)
			req.SetBasicAuth(adminUser, adminPass)
			req.Header.Set("Content-Type", "application/octet-stream")
			resp, err := client.Do(req)
			if err != nil {
				t.Errorf("PATCH: %v", err)
				resp = nil
			}
			answered <- resp
		}()
		chunk := make([]byte, 1<<20)
		for range 8 {
			if _, err := pw.Write(chunk); err != nil {
				t.Fatalf("sending the chunk: %v", err)
			}
		}
		reg.Kill()
		defer reg.Start()
		// The client still holds its body open: the gateway answers anyway.
		go func() {
			for {
				if _, err := pw.Write(chunk); err != nil {
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
		select {
		case resp := <-answered:
			if resp != nil {
				check502("PATCH cut by the registry's death", resp, false)
			}
		case <-time.After(60 * time.Second): // a hang guard
			t.Fatal("the PATCH was never answered after the registry died")
		}
	})

	t.Run("killed mid-push, go-containerregistry retries", func(t *testing.T) {
		// skopeo 1.9 (Debian's) does not retry a 502 answered to a PATCH; ggcr retries
		// 502, 503 and 504 with backoff, re-sending the blob.
		done := make(chan error, 1)
		opts := append(g.ggcrOptions(t, adminUser, adminPass),
			remote.WithRetryBackoff(remote.Backoff{Duration: time.Second, Factor: 2, Jitter: 0.1, Steps: 5}))
		go func() { done <- remote.Write(g.ggcrRef(t, adminUser+"/big:1"), img, opts...) }()
		killWhen(func() int64 {
			return sizeOf(t, regRoot, func(p string) bool { return strings.Contains(p, "/_uploads/") && strings.HasSuffix(p, "/data") })
		}, 8<<20, done)
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("the push did not complete after the registry came back: %v", err)
			}
		case <-time.After(5 * time.Minute): // a hang guard
			t.Fatal("the push hung")
		}
		if got, err := remoteGet(t, g, adminUser+"/big:1", adminUser, adminPass); err != nil || got != want {
			t.Errorf("pushed digest %s (%v), want %s", got, err, want)
		}
	})

	t.Run("killed mid-GET, the body ends", func(t *testing.T) {
		resp := request("GET", "/v2/"+adminUser+"/big/blobs/"+layerDigest, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET blob: %s", resp.Status)
		}
		if _, err := io.CopyN(io.Discard, resp.Body, 4<<20); err != nil {
			t.Fatal(err)
		}
		reg.Kill()
		defer reg.Start()
		ended := make(chan error, 1)
		go func() { _, err := io.Copy(io.Discard, resp.Body); ended <- err }()
		select {
		case <-ended:
			// Either an error, or (when the registry had already sent it all into the
			// socket buffers) the whole body: both are an end, not a hang.
		case <-time.After(60 * time.Second): // a hang guard
			t.Fatal("the blob download hung after the registry died")
		}
		resp.Body.Close()
	})

	pull := func(dir string, retries int) (chan error, func() string) {
		done := make(chan error, 1)
		var out string
		go func() {
			o, e, err := tryCmd(t, "", s.bin, "copy", "--retry-times", strconv.Itoa(retries), "--authfile", s.authFile,
				"--src-cert-dir", s.certDir, s.ref(adminUser+"/big:1"), "oci:"+dir+":"+ociTag)
			out = o + e
			done <- err
		}()
		return done, func() string { return out }
	}
	wait := func(what string, done chan error) error {
		t.Helper()
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Minute): // a hang guard
			t.Fatalf("%s hung", what)
			return nil
		}
	}

	t.Run("killed mid-pull, skopeo fails at once, pulling again completes", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "pulled")
		done, out := pull(dir, 0)
		// skopeo writes a blob it pulls into a temporary file in the layout directory.
		killWhen(func() int64 {
			return sizeOf(t, dir, func(p string) bool { return strings.Contains(p, "oci-put-blob") })
		}, 8<<20, done)
		// A body cut mid-blob reaches the client as "unexpected EOF", which skopeo 1.9's
		// --retry-times does not retry: the copy ends at once, and the retry is the job's,
		// as a CI step would make it.
		err := wait("skopeo pull", done)
		t.Logf("skopeo's pull cut by the registry's death: %v %s", err, strings.TrimSpace(out()))
		dir = filepath.Join(t.TempDir(), "again")
		done, out = pull(dir, 3)
		if err := wait("skopeo pull", done); err != nil {
			t.Fatalf("pulling again after the registry came back: %v\n%s", err, out())
		}
		if got := layoutDigest(t, dir).String(); got != want {
			t.Errorf("pulled digest %s, want %s", got, want)
		}
	})

	t.Run("pull while the registry is down, go-containerregistry retries", func(t *testing.T) {
		// skopeo 1.9 does not retry a 502 either; ggcr does, reading the envelope.
		reg.Kill()
		restarted := make(chan struct{})
		go func() {
			defer close(restarted)
			time.Sleep(2 * time.Second) // down long enough for a refused attempt or two
			reg.Start()
		}()
		defer func() { <-restarted }()
		opts := append(g.ggcrOptions(t, adminUser, adminPass),
			remote.WithRetryBackoff(remote.Backoff{Duration: time.Second, Factor: 2, Jitter: 0.1, Steps: 5}))
		pulled, err := remote.Image(g.ggcrRef(t, adminUser+"/big:1"), opts...)
		if err != nil {
			t.Fatalf("remote.Image did not complete once the registry was back: %v", err)
		}
		dir := writeLayout(t, pulled) // reads every blob through the gateway
		if got := layoutDigest(t, dir).String(); got != want {
			t.Errorf("pulled digest %s, want %s", got, want)
		}
	})

	// The log says what happened: upstream failures at ERROR, a cut blob as an aborted
	// response, and nothing panicked.
	log := g.Log()
	if !strings.Contains(log, `msg="upstream failed"`) {
		t.Error("no 'upstream failed' in the log")
	}
	if !strings.Contains(log, `reason="response aborted mid-body"`) {
		t.Error("no download recorded as aborted mid-body")
	}
	if strings.Contains(log, "panic") {
		t.Errorf("the gateway panicked:\n%s", g.LogTail(40))
	}
}

// sizeOf adds up the sizes of the regular files under root whose path match accepts.
func sizeOf(t *testing.T, root string, match func(path string) bool) int64 {
	t.Helper()
	var n int64
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !match(p) {
			return nil // files come and go under a running transfer
		}
		if fi, err := d.Info(); err == nil {
			n += fi.Size()
		}
		return nil
	})
	return n
}
