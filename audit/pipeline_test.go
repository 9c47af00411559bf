package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/auth"
	"github.com/portcullis/portcullis/gateway"
	"github.com/portcullis/portcullis/internal/reload"
	"github.com/portcullis/portcullis/registry"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// testAuthn accepts alice and bob with password "secret"; other credentials are refused,
// naming the account they claimed.
type testAuthn struct{}

func (testAuthn) Authenticate(_ context.Context, r *http.Request) (access.Principal, error) {
	u, p, ok := r.BasicAuth()
	switch {
	case !ok:
		return access.Anonymous(), nil
	case (u == "alice" || u == "bob") && p == "secret":
		return access.Principal{Name: u, Method: access.MethodBasic}, nil
	}
	return access.Principal{}, &access.BadCredentialsError{Account: u}
}

// teamPolicy lets alice do everything under team/ and list the catalog, bob only pull.
type teamPolicy struct{}

func (teamPolicy) Authorize(_ context.Context, in access.Input) (access.Decision, error) {
	d := access.Decision{Reason: "team policy"}
	for _, r := range in.Access {
		var acts []string
		for _, a := range r.Actions {
			switch {
			case in.Principal.Name == "alice" && (r.Type == access.TypeRegistry || strings.HasPrefix(r.Name, "team/")):
				acts = append(acts, a)
			case in.Principal.Name == "bob" && a == access.Pull && strings.HasPrefix(r.Name, "team/"):
				acts = append(acts, a)
			}
		}
		if len(acts) > 0 {
			d.Granted = append(d.Granted, access.Resource{Type: r.Type, Name: r.Name, Actions: acts})
		}
	}
	return d, nil
}

// pipeline is the real request pipeline (gateway + bundled registry) with a trail.
type pipeline struct {
	t     *testing.T
	url   string
	trail *Trail
	cfg   Config
	seen  int // lines of the audit log already returned
}

func newPipeline(t *testing.T) *pipeline {
	log := slog.New(slog.DiscardHandler)
	reg, err := registry.New(registry.Options{Root: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	tr, cfg := newTrail(t, func(c *Config) { c.Pulls = PullsAll })
	start := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	h, err := gateway.New(gateway.Config{Backend: gateway.NewInProcess(reg), Authenticator: testAuthn{}, Authorizer: teamPolicy{},
		Observers: []gateway.Observer{tr}, Logger: log, Now: func() time.Time { return start }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	p := &pipeline{t: t, url: srv.URL, trail: tr, cfg: cfg}
	p.records() // the start checkpoint
	return p
}

// do sends a request as user ("" for none) and returns the response.
func (p *pipeline) do(user, method, path, contentType string, body []byte) *http.Response {
	p.t.Helper()
	req, err := http.NewRequest(method, p.url+path, bytes.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("User-Agent", "golden-test/1")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if user != "" {
		pass := "secret"
		if user == "mallory" {
			pass = "guess"
		}
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func (p *pipeline) must(resp *http.Response, status int) *http.Response {
	p.t.Helper()
	if resp.StatusCode != status {
		p.t.Fatalf("%s %s: %s, want %d", resp.Request.Method, resp.Request.URL.Path, resp.Status, status)
	}
	return resp
}

// records returns the lines written since the last call, flushed to the file first.
func (p *pipeline) records() [][]byte {
	p.t.Helper()
	p.trail.mu.Lock()
	seq := p.trail.head.Seq
	p.trail.mu.Unlock()
	if err := p.trail.file.sync(seq); err != nil {
		p.t.Fatal(err)
	}
	lines := readLines(p.t, p.cfg.File)
	out := lines[p.seen:]
	p.seen = len(lines)
	return out
}

var (
	uploadPath = regexp.MustCompile(`/blobs/uploads/[^/"]+`)
	normalize  = map[string]string{"request_id": "<request id>", "prev": "<sha256 of the line before>"}
)

// golden compares the records a step wrote with testdata/golden/<name>.json, after
// replacing what differs from run to run (request ids, the chain's hashes, upload ids).
func (p *pipeline) golden(name string, lines [][]byte, want int) {
	p.t.Helper()
	var recs []map[string]any
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal(uploadPath.ReplaceAll(l, []byte("/blobs/uploads/<upload id>")), &m); err != nil {
			p.t.Fatal(err)
		}
		for k, v := range normalize {
			if _, ok := m[k]; ok {
				m[k] = v
			}
		}
		if m["kind"] != string(KindCheckpoint) {
			recs = append(recs, m)
		}
	}
	if len(recs) != want {
		p.t.Errorf("%s: %d records, want exactly %d:\n%s", name, len(recs), want, bytes.Join(lines, []byte("\n")))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(recs)
	got := buf.Bytes()
	file := filepath.Join("testdata", "golden", name+".json")
	if *update {
		os.MkdirAll(filepath.Dir(file), 0o755)
		if err := os.WriteFile(file, got, 0o644); err != nil {
			p.t.Fatal(err)
		}
		return
	}
	wantB, err := os.ReadFile(file)
	if err != nil {
		p.t.Fatalf("%v (run go test ./audit -run TestGolden -update)", err)
	}
	if !bytes.Equal(got, wantB) {
		p.t.Errorf("%s differs from %s (run with -update if the change is meant):\n%s", name, file, got)
	}
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// TestGolden drives every kind of event through the real pipeline (the gateway, the
// bundled registry, a trail) or, for those that are not requests, through the call that
// records them, and compares the records with golden files. Each step writes exactly
// one record.
func TestGolden(t *testing.T) {
	p := newPipeline(t)
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	layer := []byte("a layer, not gzipped, for the test")
	manifest := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},`+
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":%q,"size":%d}]}`,
		digestOf(config), len(config), digestOf(layer), len(layer))
	mt := "application/vnd.oci.image.manifest.v1+json"

	// A monolithic blob upload: one POST.
	p.must(p.do("alice", "POST", "/v2/team/app/blobs/uploads/?digest="+digestOf(config), "application/octet-stream", config), 201)
	p.golden("push_blob_monolithic", p.records(), 1)

	// A chunked upload: POST, PATCH, PUT; one record, for the PUT that completes it.
	loc := p.must(p.do("alice", "POST", "/v2/team/app/blobs/uploads/", "", nil), 202).Header.Get("Location")
	loc = strings.TrimPrefix(loc, p.url)
	loc = p.must(p.do("alice", "PATCH", loc, "application/octet-stream", layer), 202).Header.Get("Location")
	loc = strings.TrimPrefix(loc, p.url)
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	p.must(p.do("alice", "PUT", loc+sep+"digest="+digestOf(layer), "", nil), 201)
	p.golden("push_blob_chunked", p.records(), 1)

	// A manifest pushed by tag: the record names the tag and the digest it now points to.
	p.must(p.do("alice", "PUT", "/v2/team/app/manifests/v1", mt, manifest), 201)
	p.golden("push_manifest", p.records(), 1)

	p.must(p.do("bob", "GET", "/v2/team/app/manifests/v1", "", nil), 200)
	p.golden("pull_manifest", p.records(), 1)

	p.must(p.do("bob", "GET", "/v2/team/app/blobs/"+digestOf(layer), "", nil), 200)
	p.golden("pull_blob", p.records(), 1)

	p.must(p.do("alice", "POST", "/v2/team/other/blobs/uploads/?mount="+digestOf(layer)+"&from=team/app", "", nil), 201)
	p.golden("push_mount", p.records(), 1)

	p.must(p.do("alice", "GET", "/v2/_catalog", "", nil), 200)
	p.golden("catalog", p.records(), 1)

	p.must(p.do("bob", "PUT", "/v2/team/app/manifests/v2", mt, manifest), 403)
	p.golden("denied_push", p.records(), 1)

	p.must(p.do("mallory", "GET", "/v2/team/app/manifests/v1", "", nil), 401)
	p.golden("login_failed", p.records(), 1)

	// Docker's first, anonymous try is not a failed login.
	p.must(p.do("", "GET", "/v2/", "", nil), 401)
	p.golden("anonymous_challenge", p.records(), 0)

	p.must(p.do("alice", "DELETE", "/v2/team/app/manifests/"+digestOf(manifest), "", nil), 202)
	p.golden("delete", p.records(), 1)

	// Not requests: a token issued (what the token endpoint reports), a configuration
	// file reloaded (what internal/reload reports), a garbage collection.
	at := time.Date(2026, 11, 30, 12, 0, 1, 0, time.UTC)
	p.trail.Emit(t.Context(), Event{Time: at, Kind: KindTokenIssued, RequestID: "r1", ClientIP: "192.0.2.7", User: "alice", Auth: "basic",
		Asked:   []access.Resource{{Type: "repository", Name: "team/app", Actions: []string{"pull", "push"}}},
		Granted: []access.Resource{{Type: "repository", Name: "team/app", Actions: []string{"pull"}}}, Status: 200})
	p.golden("token_issued", p.records(), 1)

	users := filepath.Join(t.TempDir(), "htpasswd")
	if err := auth.SetPassword(users, "alice", []byte("secret"), 4); err != nil {
		t.Fatal(err)
	}
	h, err := auth.NewHtpasswd(users, auth.HtpasswdOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h.OnReport(func(rp reload.Report) {
		ev := ReloadEvent(rp)
		ev.Time = at
		for i := range ev.Files {
			ev.Files[i].Path = filepath.Base(ev.Files[i].Path)
		}
		ev.Error = strings.ReplaceAll(ev.Error, filepath.Dir(users)+string(filepath.Separator), "")
		p.trail.Emit(t.Context(), ev)
	})
	os.WriteFile(users, []byte("carol:$2y$04$DtkMdC2UeroRr8q/pwUJQORa4AZ/gq0fd5MMjMvL6pFMoN5T/goZe\n"), 0o600)
	h.Reload(t.Context())
	os.WriteFile(users, []byte("not an htpasswd line\n"), 0o600)
	h.Reload(t.Context())
	p.golden("config_reloaded", p.records(), 2)

	p.trail.Emit(t.Context(), Event{Time: at, Kind: KindGC, GC: &GCSummary{ManifestsRemoved: 1, BlobsRemoved: 2, BytesRemoved: 1234, Repositories: 2}})
	p.golden("gc", p.records(), 1)

	if err := p.trail.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify([]string{p.cfg.File}, publicKey(t, p.cfg))
	if err != nil || !rep.OK() {
		t.Fatalf("the trail does not verify: %v %v", rep.Problem, err)
	}
}
