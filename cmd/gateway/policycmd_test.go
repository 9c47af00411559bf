package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func policyRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errs bytes.Buffer
	code = runPolicy(t.Context(), args, &out, &errs)
	return code, out.String(), errs.String()
}

func TestPolicyEval(t *testing.T) {
	examples := filepath.Join("..", "..", "examples", "policies")
	tests := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"own namespace push", []string{"--user", "alice", "--scope", "repository:alice/app:pull,push"}, 0,
			[]string{"ALLOW", "repository:alice/app  granted pull,push", "reason: default policy"}},
		{"push elsewhere", []string{"--user", "alice", "--scope", "repository:bob/app:pull,push"}, 1,
			[]string{"DENY", "repository:bob/app  granted pull  not granted push"}},
		{"mount needs both", []string{"--user", "alice", "--scope", "repository:alice/app:push", "--scope", "repository:bob/base:pull"}, 0,
			[]string{"ALLOW", "repository:bob/base  granted pull"}},
		{"admin group", []string{"--user", "root", "--groups", "dev, admins", "--scope", "repository:x:delete registry:catalog:*"}, 0,
			[]string{"ALLOW", "registry:catalog  granted *"}},
		{"anonymous", []string{"--anonymous", "--scope", "repository:x:pull"}, 1,
			[]string{"DENY", "anonymous access is not allowed"}},
		{"example policy from dir", []string{"--policy", filepath.Join(examples, "prod-no-latest"), "--user", "root", "--groups", "admins",
			"--method", "PUT", "--path", "/v2/prod/app/manifests/latest", "--scope", "repository:prod/app:pull,push"}, 1,
			[]string{"DENY", "not granted push", "push a version tag"}},
		{"example ip allow-list", []string{"--policy", filepath.Join(examples, "push-ip-allowlist"), "--user", "alice",
			"--client-ip", "10.20.0.5", "--scope", "repository:alice/app:push"}, 0, []string{"ALLOW"}},
		{"no scope", []string{"--user", "alice"}, 2, []string{"--scope"}},
		{"no user", []string{"--scope", "repository:x:pull"}, 2, []string{"--anonymous"}},
		{"bad scope", []string{"--user", "a", "--scope", "repository:x"}, 2, []string{"invalid scope"}},
		{"bad auth", []string{"--user", "a", "--auth", "magic", "--scope", "repository:x:pull"}, 2, []string{"--auth"}},
		{"bad claims", []string{"--user", "a", "--claims", "[1]", "--scope", "repository:x:pull"}, 2, []string{"--claims"}},
		{"missing policy", []string{"--policy", filepath.Join(t.TempDir(), "nope.rego"), "--user", "a", "--scope", "repository:x:pull"}, 2, []string{"nope.rego"}},
		{"unknown flag", []string{"--frobnicate"}, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := policyRun(t, append([]string{"eval"}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errs)
			}
			for _, c := range tt.contains {
				if !strings.Contains(out+errs, c) {
					t.Errorf("output lacks %q\nstdout:\n%s\nstderr:\n%s", c, out, errs)
				}
			}
		})
	}
}

func TestPolicyEvalJSON(t *testing.T) {
	code, out, errs := policyRun(t, "eval", "--json", "--user", "alice", "--groups", "dev", "--claims", `{"sub":"alice"}`,
		"--path", "/v2/bob/app/manifests/v1", "--scope", "repository:bob/app:pull,push")
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr %s", code, errs)
	}
	var got struct {
		Allowed bool `json:"allowed"`
		Input   struct {
			Principal struct {
				Name   string         `json:"name"`
				Groups []string       `json:"groups"`
				Claims map[string]any `json:"claims"`
			} `json:"principal"`
			Request struct {
				Path string `json:"path"`
			} `json:"request"`
		} `json:"input"`
		Decision struct {
			Granted []struct {
				Name    string   `json:"name"`
				Actions []string `json:"actions"`
			} `json:"granted"`
			Reason string `json:"reason"`
		} `json:"decision"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if got.Allowed || got.Input.Principal.Name != "alice" || got.Input.Principal.Claims["sub"] != "alice" ||
		got.Input.Request.Path != "/v2/bob/app/manifests/v1" || len(got.Decision.Granted) != 1 ||
		strings.Join(got.Decision.Granted[0].Actions, ",") != "pull" || got.Decision.Reason == "" {
		t.Errorf("unexpected JSON: %s", out)
	}
}

func TestPolicyTest(t *testing.T) {
	failing := t.TempDir()
	policyWrite(t, filepath.Join(failing, "p.rego"), "package portcullis.authz\ngranted := set()\n")
	policyWrite(t, filepath.Join(failing, "p_test.rego"), "package portcullis.authz_test\nimport data.portcullis.authz\n\ntest_bad if count(authz.granted) == 1\n")
	broken := t.TempDir()
	policyWrite(t, filepath.Join(broken, "p.rego"), "package portcullis.authz\ngranted contains x if {\n")
	noContract := t.TempDir()
	policyWrite(t, filepath.Join(noContract, "p.rego"), "package portcullis.authz\nallow := true\n")
	policyWrite(t, filepath.Join(noContract, "p_test.rego"), "package portcullis.authz_test\nimport data.portcullis.authz\n\ntest_allow if authz.allow\n")

	tests := []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"example passes", []string{filepath.Join("..", "..", "examples", "policies", "team-namespaces")}, 0, "PASS: 5/5"},
		{"failing test", []string{failing}, 1, "test_bad"},
		{"broken policy", []string{broken}, 2, "p.rego:"},
		{"tests pass but no granted rule", []string{noContract}, 2, "granted"},
		{"two dirs", []string{failing, broken}, 2, "one DIR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := policyRun(t, append([]string{"test"}, tt.args...)...)
			if code != tt.code || !strings.Contains(out+errs, tt.contains) {
				t.Errorf("exit %d (want %d), output lacks %q?\nstdout:\n%s\nstderr:\n%s", code, tt.code, tt.contains, out, errs)
			}
		})
	}
}

func TestPolicyUsage(t *testing.T) {
	if code, _, errs := policyRun(t); code != 2 || !strings.Contains(errs, "usage") {
		t.Errorf("no args: exit %d, stderr %q", code, errs)
	}
	if code, _, _ := policyRun(t, "frob"); code != 2 {
		t.Errorf("unknown subcommand: exit %d", code)
	}
}

func policyWrite(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
