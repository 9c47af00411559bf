package testenv

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"testing"
)

// ConformanceResult is one run of ../shared/bench/conformance.sh.
type ConformanceResult struct {
	Passed, Failed, Skipped int
	// Failing and Skipping hold test case names from the suite's junit.xml.
	Failing, Skipping map[string]bool
	Output            string // the script's stdout and stderr
	Log               string // the suite's own log (conformance.log)
	Err               error  // the script's exit error, if any
}

var summaryLine = regexp.MustCompile(`(?m)^conformance: (\d+) passed, (\d+) failed, (\d+) skipped\s*$`)

// repoRoot is the repository's top directory, found from this file's place in it (tests
// run in their own package directories).
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// conformanceScript is ../shared/bench/conformance.sh beside the repository.
func conformanceScript() string {
	return filepath.Join(repoRoot(), "..", "shared", "bench", "conformance.sh")
}

// Conformance runs the OCI conformance suite against url with the script's flags and
// extra environment (OCI_* variables), and reads its summary line and junit.xml. A
// missing script or bash skips, or fails under CI; a run that prints no summary fails.
func Conformance(t testing.TB, url string, env []string, flags ...string) ConformanceResult {
	t.Helper()
	if testing.Short() {
		t.Skip("the conformance suite does not run in -short mode")
	}
	script := conformanceScript()
	if _, err := os.Stat(script); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("conformance script missing (../shared must sit beside the repository): %v", err)
		}
		t.Skipf("conformance script missing (../shared beside the repository): %v", err)
	}
	bash := NeedTool(t, "bash")
	NeedTool(t, "go")
	out := t.TempDir()
	args := append(append([]string{script, "-t", "300", "-w", "10", "-o", out}, flags...), url)
	cmd := exec.CommandContext(t.Context(), bash, args...)
	cmd.Env = append(os.Environ(), env...)
	b, err := cmd.CombinedOutput()
	res := ConformanceResult{Output: string(b), Err: err}
	if log, rerr := os.ReadFile(filepath.Join(out, "conformance.log")); rerr == nil {
		res.Log = string(log)
	}
	m := summaryLine.FindAllStringSubmatch(res.Output, -1)
	if len(m) == 0 {
		t.Fatalf("conformance.sh printed no summary line (%v):\n%s", err, res.Output)
	}
	last := m[len(m)-1]
	res.Passed, _ = strconv.Atoi(last[1])
	res.Failed, _ = strconv.Atoi(last[2])
	res.Skipped, _ = strconv.Atoi(last[3])
	if res.Failing, res.Skipping, err = junitCases(filepath.Join(out, "junit.xml")); err != nil {
		t.Fatalf("%v\n%s", err, res.Output)
	}
	return res
}

// The junit test case statuses the suite's reporter writes, as conformance.sh counts them.
var (
	failedStatus = map[string]bool{
		"failure": true, "failed": true, "error": true, "panicked": true,
		"interrupted": true, "aborted": true, "timedout": true,
	}
	skippedStatus = map[string]bool{"skipped": true, "pending": true, "disabled": true}
)

// junitCases returns the names of the failing and the skipped test cases in a junit.xml.
func junitCases(file string) (failing, skipping map[string]bool, err error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, fmt.Errorf("reading junit report: %w", err)
	}
	defer f.Close()
	failing, skipping = map[string]bool{}, map[string]bool{}
	dec := xml.NewDecoder(f)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return failing, skipping, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("parsing %s: %w", file, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "testcase" {
			continue
		}
		var name, status string
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "name":
				name = a.Value
			case "status":
				status = a.Value
			}
		}
		switch {
		case failedStatus[status]:
			failing[name] = true
		case skippedStatus[status]:
			skipping[name] = true
		}
	}
}
