package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// cmdTimeout bounds one client command (skopeo, podman, docker, gateway gc...), so a hung
// tool fails its test instead of the whole run.
const cmdTimeout = 3 * time.Minute

// runCmd runs an external command, returning stdout and stderr; the test fails with
// both when it does not exit 0.
func runCmd(t *testing.T, stdin string, name string, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, err := tryCmd(t, stdin, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout, stderr)
	}
	return stdout, stderr
}

// tryCmd runs an external command and returns its output and error without judging.
func tryCmd(t *testing.T, stdin string, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	err = cmd.Run()
	if ctx.Err() != nil && t.Context().Err() == nil {
		err = fmt.Errorf("%w (killed after %v)", err, cmdTimeout)
	}
	return out.String(), errb.String(), err
}

// cleanupCmd runs a command from a Cleanup function, where t.Context() is already
// cancelled, and ignores its outcome.
func cleanupCmd(name string, args ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	exec.CommandContext(ctx, name, args...).Run()
}

// must returns a function failing t when a command's error is non-nil, else giving stdout.
func must(t *testing.T) func(stdout, stderr string, err error) string {
	return func(stdout, stderr string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
		}
		return stdout
	}
}
