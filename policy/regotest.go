package policy

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// testResults are a policy's Rego test results, sorted by file and line.
type testResults struct {
	results []*tester.Result
	passed  int
	failed  int
}

// failures names each failed or errored test with its file:line.
func (r testResults) failures() []string {
	var out []string
	for _, res := range r.results {
		if res.Pass() || res.Skip {
			continue
		}
		what := "failed"
		if res.Error != nil {
			what = "error: " + res.Error.Error()
		}
		out = append(out, fmt.Sprintf("%s: %s.%s %s", res.Location, res.Package, res.Name, what))
	}
	return out
}

// runRegoTests runs every test_ rule in modules against data with OPA's tester.
func runRegoTests(ctx context.Context, modules map[string]*ast.Module, data map[string]any) (testResults, error) {
	ch, err := tester.NewRunner().
		SetStore(inmem.NewFromObject(dataOrEmpty(data))).
		SetDefaultRegoVersion(ast.RegoV1).
		Run(ctx, modules)
	if err != nil {
		return testResults{}, err
	}
	var r testResults
	for res := range ch {
		r.results = append(r.results, res)
		switch {
		case res.Skip:
		case res.Pass():
			r.passed++
		default:
			r.failed++
		}
	}
	sort.Slice(r.results, func(i, j int) bool {
		return r.results[i].Location.Compare(r.results[j].Location) < 0
	})
	return r, nil
}

// RunTests loads the policy at path (a file or directory, as Load reads it, tests
// included), runs its Rego tests (test_ rules, usually in *_test.rego files) and writes a
// report to w in the format of `opa test`. err is for a policy that does not load or
// compile; failing tests are counted in failed.
func RunTests(ctx context.Context, path string, w io.Writer) (passed, failed int, err error) {
	src, err := ReadSource(path)
	if err != nil {
		return 0, 0, err
	}
	serving, tests, err := parseModules(src.Modules)
	if err != nil {
		return 0, 0, err
	}
	all := make(map[string]*ast.Module, len(serving)+len(tests))
	for n, m := range serving {
		all[n] = m
	}
	for n, m := range tests {
		all[n] = m
	}
	res, err := runRegoTests(ctx, all, src.Data)
	if err != nil {
		return 0, 0, fmt.Errorf("running tests in %s: %w", path, err)
	}
	ch := make(chan *tester.Result, len(res.results))
	for _, r := range res.results {
		ch <- r
	}
	close(ch)
	if err := (tester.PrettyReporter{Output: w, FailureLine: true}).Report(ch); err != nil {
		return res.passed, res.failed, fmt.Errorf("reporting tests: %w", err)
	}
	if len(res.results) == 0 {
		fmt.Fprintf(w, "no Rego tests (test_ rules) found in %s\n", path)
	}
	return res.passed, res.failed, nil
}
