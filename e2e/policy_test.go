package e2e

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// teamPolicy lets admins do everything and everyone else pull public/... and do anything
// under their own name: enough to tell a filtered search or catalog from an unfiltered one.
const teamPolicy = `package portcullis.authz

authenticated if input.principal.name != ""

admin if {
	authenticated
	"admins" in input.principal.groups
}

granted contains {"type": r.type, "name": r.name, "actions": ["*"]} if {
	admin
	some r in input.access
}

granted contains {"type": r.type, "name": r.name, "actions": ["pull"]} if {
	authenticated
	some r in input.access
	r.type == "repository"
	startswith(r.name, "public/")
}

granted contains {"type": r.type, "name": r.name, "actions": ["*"]} if {
	authenticated
	some r in input.access
	r.type == "repository"
	startswith(r.name, concat("", [input.principal.name, "/"]))
}

granted contains {"type": "registry", "name": "catalog", "actions": ["*"]} if {
	authenticated
	some r in input.access
	r.type == "registry"
	r.name == "catalog"
}

reason := "e2e team policy"
`

// refusal reports whether a client's error output reads as an authorization refusal.
func refusal(stderr string) bool {
	s := strings.ToLower(stderr)
	return strings.Contains(s, "denied") || strings.Contains(s, "403") || strings.Contains(s, "forbidden")
}

func TestPolicyDefault(t *testing.T) {
	t.Parallel()
	g := startGateway(t, t.TempDir(), authFlags(t)...)
	digest := g.pushGGCR(t, adminUser+"/shared:1", adminUser, adminPass, 1)

	if got, err := remoteGet(t, g, adminUser+"/shared:1", plainUser, plainPass); err != nil || got != digest {
		t.Errorf("%s pulling %s/shared:1: %s, %v; want %s", plainUser, adminUser, got, err, digest)
	}
	err := remote.Write(g.ggcrRef(t, adminUser+"/shared:2"), randomImage(t, 1), g.ggcrOptions(t, plainUser, plainPass)...)
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusForbidden {
		t.Errorf("%s pushing into %s/: %v, want 403", plainUser, adminUser, err)
	}
	g.pushGGCR(t, plainUser+"/mine:1", plainUser, plainPass, 1)
	err = remote.Delete(g.ggcrRef(t, adminUser+"/shared@"+digest), g.ggcrOptions(t, plainUser, plainPass)...)
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusForbidden {
		t.Errorf("%s deleting in %s/: %v, want 403", plainUser, adminUser, err)
	}
}

func TestPolicyClients(t *testing.T) {
	t.Parallel()
	policy := filepath.Join(t.TempDir(), "team.rego")
	if err := os.WriteFile(policy, []byte(teamPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, t.TempDir(), append(authFlags(t), "--policy", policy)...)
	public := g.pushGGCR(t, "public/app:1", adminUser, adminPass, 2)
	g.pushGGCR(t, "secret/app:1", adminUser, adminPass, 1)
	g.pushGGCR(t, plainUser+"/app:1", plainUser, plainPass, 1)

	t.Run("skopeo", func(t *testing.T) {
		s := newSkopeo(t, g, plainUser, plainPass)
		dir, stderr, err := s.pull("public/app:1")
		if err != nil {
			t.Fatalf("%s pulling public/app:1: %v\n%s", plainUser, err, stderr)
		}
		if got := layoutDigest(t, dir); got.String() != public {
			t.Errorf("pulled digest %s, want %s", got, public)
		}
		if _, stderr, err := s.pull("secret/app:1"); err == nil {
			t.Errorf("%s pulled secret/app:1", plainUser)
		} else if !refusal(stderr) {
			t.Errorf("pull of secret/app:1 refused without saying denied/403: %s", stderr)
		}
		_, stderr, err = s.copy("oci:"+dir+":"+ociTag, s.ref("public/app:2"))
		if err == nil {
			t.Errorf("%s pushed public/app:2", plainUser)
		} else if !refusal(stderr) {
			t.Errorf("push refused without saying denied/403: %s", stderr)
		} else {
			t.Logf("skopeo push refused: %s", strings.TrimSpace(stderr))
		}
	})

	t.Run("podman", func(t *testing.T) {
		p := newPodman(t, g, plainUser, plainPass)
		ref := g.Host + "/public/app:1"
		p.run("", "pull", "--cert-dir", p.certDir, "--authfile", p.authFile, ref)
		if got := p.inspect(ref, "{{.Digest}}"); got != public {
			t.Errorf("podman pulled digest %s, want %s", got, public)
		}
		other := g.Host + "/public/app:3"
		p.run("", "tag", ref, other)
		_, stderr, err := p.try("", "push", "--cert-dir", p.certDir, "--authfile", p.authFile, other)
		if err == nil {
			t.Errorf("%s pushed %s with podman", plainUser, other)
		} else if !refusal(stderr) {
			t.Errorf("podman push refused without saying denied/403: %s", stderr)
		}
	})

	t.Run("search", func(t *testing.T) {
		for _, tc := range []struct {
			user, pass string
			want       []string
		}{
			{plainUser, plainPass, []string{plainUser + "/app", "public/app"}},
			{adminUser, adminPass, []string{plainUser + "/app", "public/app", "secret/app"}},
		} {
			if got := search(t, g, "app", tc.user, tc.pass); !slices.Equal(got, tc.want) {
				t.Errorf("/v1/search?q=app as %s = %v, want %v", tc.user, got, tc.want)
			}
		}
	})

	t.Run("catalog", func(t *testing.T) {
		var body struct {
			Repositories []string `json:"repositories"`
		}
		getJSON(t, g, "/v2/_catalog", plainUser, plainPass, &body)
		if want := []string{plainUser + "/app", "public/app"}; !slices.Equal(body.Repositories, want) {
			t.Errorf("/v2/_catalog as %s = %v, want %v", plainUser, body.Repositories, want)
		}
	})

	t.Run("docker search", func(t *testing.T) {
		d := newDocker(t, g)
		d.run(plainPass, "login", g.Host, "-u", plainUser, "--password-stdin")
		out := d.run("", "search", "--format", "{{.Name}}", g.Host+"/app")
		got := strings.Fields(out)
		slices.Sort(got)
		if want := []string{plainUser + "/app", "public/app"}; !slices.Equal(got, want) {
			t.Errorf("docker search as %s = %v, want %v", plainUser, got, want)
		}
	})
}

// search returns the sorted repository names /v1/search?q=q gives user.
func search(t *testing.T, g *gateway, q, user, pass string) []string {
	t.Helper()
	var body struct {
		Results []struct {
			Name string `json:"name"`
		} `json:"results"`
	}
	getJSON(t, g, "/v1/search?q="+q, user, pass, &body)
	var names []string
	for _, r := range body.Results {
		names = append(names, r.Name)
	}
	slices.Sort(names)
	return names
}

// getJSON GETs path as user and decodes a 200 JSON answer into v.
func getJSON(t *testing.T, g *gateway, path, user, pass string, v any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, g.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, pass)
	resp, err := g.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s as %s: status %d, want 200", path, user, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: decoding: %v", path, err)
	}
}
