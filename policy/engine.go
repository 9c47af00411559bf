package policy

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/portcullis/portcullis/access"
)

// Package is the Rego package holding the serving rules.
const Package = "portcullis.authz"

// maxCachedResources is the longest access list whose decision is cached: a request asks
// about one or two resources, a catalog page about hundreds, and caching those would fill
// the cache with large keys that are rarely asked again.
const maxCachedResources = 4

// DefaultCacheSize is the number of decisions an Engine keeps when Source.CacheSize is 0.
const DefaultCacheSize = 4096

// Source is a policy to compile.
type Source struct {
	// Modules maps a file name (used in error messages) to Rego v1 source. Files ending in
	// _test.rego are run as the policy's tests at compile time and never served.
	Modules map[string]string
	// Data is the base document (data.*), e.g. a repository -> team map.
	Data map[string]any
	// CacheSize bounds the decision cache: 0 means DefaultCacheSize, negative disables it.
	CacheSize int
}

// Engine is one compiled policy generation. It is safe for concurrent use.
type Engine struct {
	query   rego.PreparedEvalQuery
	input   *inputBuilder
	cache   *decisionCache // nil when disabled
	modules []string       // serving module names, sorted
	tests   int            // Rego tests that passed at compile time
}

// authorizer is the gateway's Authorizer, restated so this package need not import it.
type authorizer interface {
	Authorize(ctx context.Context, in access.Input) (access.Decision, error)
}

var (
	_ authorizer = (*Engine)(nil)
	_ authorizer = (*Reloader)(nil)
)

// Compile parses and compiles src, runs its tests, and prepares it for evaluation.
// Errors name the file and line (e.g. "policy.rego:7: rego_parse_error: ...").
func Compile(ctx context.Context, src Source) (*Engine, error) {
	serving, tests, err := parseModules(src.Modules)
	if err != nil {
		return nil, err
	}
	if err := checkContract(serving); err != nil {
		return nil, err
	}
	opts := []func(*rego.Rego){
		rego.Query(buildQuery(serving)),
		rego.Store(inmem.NewFromObject(dataOrEmpty(src.Data))),
		rego.SetRegoVersion(ast.RegoV1),
	}
	for _, m := range serving {
		opts = append(opts, rego.ParsedModule(m))
	}
	pq, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("compiling policy: %w", err)
	}
	passed := 0
	if len(tests) > 0 {
		all := make(map[string]*ast.Module, len(serving)+len(tests))
		for name, m := range serving {
			all[name] = m
		}
		for name, m := range tests {
			all[name] = m
		}
		res, err := runRegoTests(ctx, all, src.Data)
		if err != nil {
			return nil, fmt.Errorf("running policy tests: %w", err)
		}
		if failed := res.failures(); len(failed) > 0 {
			return nil, fmt.Errorf("policy tests failed: %s", strings.Join(failed, "; "))
		}
		passed = res.passed
	}
	e := &Engine{query: pq, tests: passed, input: newInputBuilder(analyzeInput(serving))}
	for name := range serving {
		e.modules = append(e.modules, name)
	}
	sort.Strings(e.modules)
	size := src.CacheSize
	if size == 0 {
		size = DefaultCacheSize
	}
	if size > 0 && deterministic(serving) {
		e.cache = newDecisionCache(size)
	}
	return e, nil
}

// Modules returns the names of the modules being served, sorted.
func (e *Engine) Modules() []string { return append([]string(nil), e.modules...) }

// TestsPassed returns how many of the policy's own Rego tests passed when it was compiled.
func (e *Engine) TestsPassed() int { return e.tests }

// Authorize evaluates the policy for in. A policy error is returned as an error (the
// caller fails closed); a denial is a Decision granting less than asked, with a reason.
func (e *Engine) Authorize(ctx context.Context, in access.Input) (access.Decision, error) {
	var key string
	if e.cache != nil && len(in.Access) <= maxCachedResources {
		var ok bool
		if key, ok = e.input.cacheKey(in); ok {
			if d, hit := e.cache.get(key); hit {
				return d, nil
			}
		}
	}
	iv, err := e.input.build(in)
	if err != nil {
		return access.Decision{}, err
	}
	rs, err := e.query.Eval(ctx, rego.EvalParsedInput(iv))
	if err != nil {
		return access.Decision{}, fmt.Errorf("evaluating policy: %w", err)
	}
	if len(rs) != 1 {
		// Cannot happen with the query above; fail closed rather than guess.
		return access.Decision{}, fmt.Errorf("evaluating policy: %d results, want 1", len(rs))
	}
	ans, err := readAnswer(rs[0].Bindings)
	if err != nil {
		return access.Decision{}, err
	}
	d := decide(in.Access, ans)
	if key != "" {
		e.cache.put(key, d)
	}
	return d, nil
}
