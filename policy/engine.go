package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

// buildQuery reads the answers, each bound to an array of zero or one value. A rule that
// may be undefined (a complete rule such as reason := ... if ...) is read through a
// comprehension, so it cannot make the whole query undefined; a partial set rule is always
// defined (the empty set) and is read directly, which is cheaper; an absent rule is not
// read at all.
func buildQuery(serving map[string]*ast.Module) string {
	kinds := map[string][]ast.RuleKind{}
	pkg := ast.MustParseRef("data." + Package)
	for _, m := range serving {
		if !m.Package.Path.Equal(pkg) {
			continue
		}
		for _, r := range m.Rules {
			ref := r.Head.Ref()
			if v, ok := ref[0].Value.(ast.Var); ok {
				kinds[string(v)] = append(kinds[string(v)], r.Head.RuleKind())
			}
		}
	}
	var parts []string
	for _, name := range []string{"granted", "denied", "reason"} {
		ks, ok := kinds[name]
		switch {
		case !ok:
		case !slices.Contains(ks, ast.SingleValue):
			parts = append(parts, fmt.Sprintf("%s := [data.%s.%s]", name, Package, name))
		default:
			parts = append(parts, fmt.Sprintf("%s := [x | x := data.%s.%s]", name, Package, name))
		}
	}
	return strings.Join(parts, "\n")
}

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

// parseModules parses every module as Rego v1, splitting tests from serving modules.
func parseModules(src map[string]string) (serving, tests map[string]*ast.Module, err error) {
	serving = make(map[string]*ast.Module)
	tests = make(map[string]*ast.Module)
	var errs ast.Errors
	for name, text := range src {
		m, err := ast.ParseModuleWithOpts(name, text, ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
		if err != nil {
			var ae ast.Errors
			if errors.As(err, &ae) {
				errs = append(errs, ae...)
				continue
			}
			return nil, nil, fmt.Errorf("parsing %s: %w", name, err)
		}
		if m == nil { // empty file
			continue
		}
		if strings.HasSuffix(name, "_test.rego") {
			tests[name] = m
		} else {
			serving[name] = m
		}
	}
	if len(errs) > 0 {
		errs.Sort()
		return nil, nil, fmt.Errorf("parsing policy: %w", errs)
	}
	return serving, tests, nil
}

// checkContract fails a policy that defines no data.portcullis.authz.granted rule: it
// would deny everything, which is almost certainly a packaging mistake.
func checkContract(serving map[string]*ast.Module) error {
	want := ast.MustParseRef("data." + Package)
	for _, m := range serving {
		if !m.Package.Path.Equal(want) {
			continue
		}
		for _, r := range m.Rules {
			if r.Head.Ref()[0].Value.Compare(ast.Var("granted")) == 0 {
				return nil
			}
		}
	}
	return fmt.Errorf("policy defines no rule data.%s.granted (see package policy docs for the contract)", Package)
}

// deterministic reports whether no module calls a non-deterministic builtin, so that a
// decision depends on the input and data alone and may be cached.
func deterministic(mods map[string]*ast.Module) bool {
	ok := true
	check := func(op ast.Ref) {
		if b, found := ast.BuiltinMap[op.String()]; found && b.Nondeterministic {
			ok = false
		}
	}
	for _, m := range mods {
		ast.WalkTerms(m, func(t *ast.Term) bool {
			if c, isCall := t.Value.(ast.Call); isCall && len(c) > 0 {
				if r, isRef := c[0].Value.(ast.Ref); isRef {
					check(r)
				}
			}
			return !ok
		})
		ast.WalkExprs(m, func(x *ast.Expr) bool {
			if x.IsCall() {
				check(x.Operator())
			}
			return !ok
		})
	}
	return ok
}

func dataOrEmpty(d map[string]any) map[string]any {
	if d == nil {
		return map[string]any{}
	}
	return d
}
