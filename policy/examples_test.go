package policy

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/open-policy-agent/opa/v1/format"

	"github.com/portcullis/portcullis/access"
)

const examplesDir = "../examples/policies"

// TestExamples loads every example policy (which runs its Rego tests at load), runs its
// tests again through RunTests as `gateway policy test` does, and checks a few decisions
// end to end through Authorize.
func TestExamples(t *testing.T) {
	dirs, err := os.ReadDir(examplesDir)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		seen++
		t.Run(d.Name(), func(t *testing.T) {
			path := filepath.Join(examplesDir, d.Name())
			e, err := Load(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			if e.TestsPassed() == 0 {
				t.Error("example has no Rego tests")
			}
			var out bytes.Buffer
			passed, failed, err := RunTests(t.Context(), path, &out)
			if err != nil || failed != 0 || passed != e.TestsPassed() {
				t.Errorf("RunTests = %d passed, %d failed, %v; want %d passed\n%s", passed, failed, err, e.TestsPassed(), out.String())
			}
		})
	}
	if seen < 6 {
		t.Errorf("found %d example policies, want the 6 of the issue", seen)
	}
}

func TestExampleDecisions(t *testing.T) {
	alice := access.Principal{Name: "alice", Method: access.MethodBasic}
	root := access.Principal{Name: "root", Groups: []string{"admins"}, Method: access.MethodBasic}
	tests := []struct {
		example string
		in      access.Input
		allowed bool
	}{
		{"public-read", access.Input{Principal: access.Anonymous(), Access: []access.Resource{repo("library/alpine", "pull")}}, true},
		{"public-read", access.Input{Principal: access.Anonymous(), Access: []access.Resource{repo("team/app", "pull")}}, false},
		{"ci-readonly", access.Input{Principal: access.Principal{Name: "jenkins", Method: access.MethodBasic}, Access: []access.Resource{repo("jenkins/app", "push")}}, false},
		{"team-namespaces", access.Input{Principal: access.Principal{Name: "d", Groups: []string{"team-web"}, Method: access.MethodBearer}, Access: []access.Resource{repo("web/site", "pull", "push")}}, true},
		{"admin-only-delete", access.Input{Principal: alice, Access: []access.Resource{repo("alice/app", "delete")}}, false},
		{"admin-only-delete", access.Input{Principal: root, Access: []access.Resource{repo("alice/app", "delete")}}, true},
		{"prod-no-latest", access.Input{Principal: root, Request: access.Request{Method: "PUT", Path: "/v2/prod/app/manifests/latest"}, Access: []access.Resource{repo("prod/app", "pull", "push")}}, false},
		{"prod-no-latest", access.Input{Principal: root, Request: access.Request{Method: "PUT", Path: "/v2/prod/app/manifests/v2"}, Access: []access.Resource{repo("prod/app", "pull", "push")}}, true},
		{"push-ip-allowlist", access.Input{Principal: alice, Request: access.Request{ClientIP: "10.20.1.1"}, Access: []access.Resource{repo("alice/app", "push")}}, true},
		{"push-ip-allowlist", access.Input{Principal: alice, Request: access.Request{ClientIP: "198.51.100.1"}, Access: []access.Resource{repo("alice/app", "push")}}, false},
		{"authenticated-all", access.Input{Principal: alice, Access: []access.Resource{repo("root/app", "pull", "push"), repo("prod/api", "delete")}}, true},
		{"authenticated-all", access.Input{Principal: access.Anonymous(), Access: []access.Resource{repo("library/alpine", "pull")}}, false},
	}
	engines := map[string]*Engine{}
	for _, tt := range tests {
		t.Run(tt.example, func(t *testing.T) {
			e := engines[tt.example]
			if e == nil {
				var err error
				if e, err = Load(t.Context(), filepath.Join(examplesDir, tt.example)); err != nil {
					t.Fatal(err)
				}
				engines[tt.example] = e
			}
			d, err := e.Authorize(t.Context(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.AllowsAll(tt.in.Access); got != tt.allowed {
				t.Errorf("allowed = %v, want %v (decision %+v)", got, tt.allowed, d)
			}
		})
	}
}

func TestRunTestsReportsFailures(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "p.rego"), "package portcullis.authz\ngranted := set()\n")
	writeFile(t, filepath.Join(dir, "p_test.rego"), "package portcullis.authz_test\nimport data.portcullis.authz\n\ntest_ok if count(authz.granted) == 0\n\ntest_bad if count(authz.granted) == 1\n")
	var out bytes.Buffer
	passed, failed, err := RunTests(t.Context(), dir, &out)
	if err != nil || passed != 1 || failed != 1 {
		t.Fatalf("RunTests = %d, %d, %v; want 1 passed 1 failed\n%s", passed, failed, err, out.String())
	}
	if !bytes.Contains(out.Bytes(), []byte("test_bad")) {
		t.Errorf("report does not name the failing test:\n%s", out.String())
	}
	writeFile(t, filepath.Join(dir, "p.rego"), brokenPolicy)
	if _, _, err := RunTests(t.Context(), dir, &out); err == nil {
		t.Error("broken policy: want an error")
	}
}

func TestReadSource(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "p.rego"), policyFor("x"))
	writeFile(t, filepath.Join(dir, "data.json"), `{"a": 1}`)
	writeFile(t, filepath.Join(dir, "data.yaml"), "a: 1\n")
	if _, err := ReadSource(dir); err == nil {
		t.Error("data.json and data.yaml together: want an error")
	}
	if err := os.Remove(filepath.Join(dir, "data.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, ".git", "junk.rego"), "not rego")
	src, err := ReadSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(src.Modules) != 1 || src.Data["a"] != 1 {
		t.Errorf("ReadSource = %d modules, data %v; want 1 module and a=1", len(src.Modules), src.Data)
	}
	if _, err := ReadSource(t.TempDir()); err == nil {
		t.Error("empty directory: want an error")
	}
}

// TestRegoFormatted keeps the built-in and example policies in `opa fmt` style, the form
// operators will diff against.
func TestRegoFormatted(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(examplesDir, "*", "*.rego"))
	if err != nil {
		t.Fatal(err)
	}
	own, _ := filepath.Glob("*.rego")
	for _, f := range append(files, own...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out, err := format.Source(f, b)
		if err != nil {
			t.Errorf("%s: %v", f, err)
		} else if !bytes.Equal(out, b) {
			t.Errorf("%s is not opa fmt formatted", f)
		}
	}
	if len(files)+len(own) < 14 {
		t.Errorf("found %d .rego files, want at least 14", len(files)+len(own))
	}
}
