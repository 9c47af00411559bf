package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

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

// dataOrEmpty gives the store an empty base document for a policy without data.
func dataOrEmpty(d map[string]any) map[string]any {
	if d == nil {
		return map[string]any{}
	}
	return d
}
