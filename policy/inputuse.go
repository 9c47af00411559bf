package policy

import (
	"github.com/open-policy-agent/opa/v1/ast"
)

// inputUse records which optional parts of the input a policy can read. Parts it never
// reads are left out of the input and of the cache key, so that, under a policy that
// ignores the request path, a pull of ten blobs is one evaluation, not ten.
// The principal's name, groups and method and the access list are always present.
type inputUse struct {
	method, path, clientIP, userAgent, claims bool
}

var inputAll = inputUse{method: true, path: true, clientIP: true, userAgent: true, claims: true}

// analyzeInput walks the modules for references to input. Anything it cannot pin to a
// field (input passed whole, input.request[x], an import of input.request) counts as
// reading every field below it: the analysis only ever errs towards including more.
func analyzeInput(mods map[string]*ast.Module) inputUse {
	var u inputUse
	var vis *ast.GenericVisitor
	vis = ast.NewGenericVisitor(func(x any) bool {
		switch v := x.(type) {
		case ast.Var:
			if v.Equal(ast.InputRootDocument.Value) {
				u = inputAll
			}
		case ast.Ref:
			if len(v) > 0 && v[0].Value.Compare(ast.InputRootDocument.Value) == 0 {
				u.markRef(v)
			} else if len(v) > 0 {
				vis.Walk(v[0])
			}
			for _, t := range v[1:] {
				vis.Walk(t)
			}
			return true // the head is handled; keys were walked above
		}
		return false
	})
	for _, m := range mods {
		vis.Walk(m)
	}
	return u
}

func (u *inputUse) markRef(r ast.Ref) {
	if len(r) < 2 {
		*u = inputAll
		return
	}
	part, ok := r[1].Value.(ast.String)
	if !ok {
		*u = inputAll
		return
	}
	var field ast.String
	if len(r) >= 3 {
		field, ok = r[2].Value.(ast.String)
	}
	whole := len(r) == 2 || !ok
	switch part {
	case "request":
		u.method = u.method || whole || field == "method"
		u.path = u.path || whole || field == "path"
		u.clientIP = u.clientIP || whole || field == "client_ip"
		u.userAgent = u.userAgent || whole || field == "user_agent"
	case "principal":
		u.claims = u.claims || whole || field == "claims"
	}
}
