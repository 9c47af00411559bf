package policy

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/portcullis/portcullis/access"
)

// inputBuilder turns access.Input into the policy input as an ast.Value directly,
// skipping the JSON round trip rego.EvalInput would make. With every part in use the
// result equals the JSON encoding of access.Input, except that nil slices are empty
// arrays (a policy can always iterate groups and actions) and empty claims are left out.
type inputBuilder struct {
	use inputUse
	// common holds shared terms for object keys and frequent values (actions, resource
	// types, methods): terms are immutable once built, so every evaluation reuses them.
	common map[string]*ast.Term
}

func newInputBuilder(use inputUse) *inputBuilder {
	b := &inputBuilder{use: use, common: map[string]*ast.Term{}}
	for _, s := range []string{
		"principal", "request", "access", "name", "groups", "method", "claims", "path",
		"client_ip", "user_agent", "type", "actions",
		access.Pull, access.Push, access.Delete, access.All, access.TypeRepository, access.TypeRegistry,
		access.MethodAnonymous, access.MethodBasic, access.MethodBearer, access.MethodMTLS, "",
		"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
	} {
		b.common[s] = ast.StringTerm(s)
	}
	return b
}

// str returns a term for s, shared when s is common.
func (b *inputBuilder) str(s string) *ast.Term {
	if t, ok := b.common[s]; ok {
		return t
	}
	return ast.StringTerm(s)
}

func (b *inputBuilder) strs(ss []string) *ast.Term {
	ts := make([]*ast.Term, len(ss))
	for i, s := range ss {
		ts[i] = b.str(s)
	}
	return ast.ArrayTerm(ts...)
}

func (b *inputBuilder) build(in access.Input) (ast.Value, error) {
	k := b.common
	p := in.Principal
	principal := ast.NewObjectWithCapacity(4)
	principal.Insert(k["name"], ast.StringTerm(p.Name))
	principal.Insert(k["groups"], b.strs(p.Groups))
	principal.Insert(k["method"], b.str(p.Method))
	if b.use.claims && len(p.Claims) > 0 {
		claims, err := ast.InterfaceToValue(p.Claims)
		if err != nil {
			return nil, fmt.Errorf("policy input: principal claims: %w", err)
		}
		principal.Insert(k["claims"], ast.NewTerm(claims))
	}

	r := in.Request
	request := ast.NewObjectWithCapacity(4)
	if b.use.method {
		request.Insert(k["method"], b.str(r.Method))
	}
	if b.use.path {
		request.Insert(k["path"], ast.StringTerm(r.Path))
	}
	if b.use.clientIP {
		request.Insert(k["client_ip"], ast.StringTerm(r.ClientIP))
	}
	if b.use.userAgent {
		request.Insert(k["user_agent"], ast.StringTerm(r.UserAgent))
	}

	list := make([]*ast.Term, len(in.Access))
	for i, res := range in.Access {
		list[i] = ast.ObjectTerm(
			ast.Item(k["type"], b.str(res.Type)),
			ast.Item(k["name"], ast.StringTerm(res.Name)),
			ast.Item(k["actions"], b.strs(res.Actions)),
		)
	}

	return ast.NewObject(
		ast.Item(k["principal"], ast.NewTerm(principal)),
		ast.Item(k["request"], ast.NewTerm(request)),
		ast.Item(k["access"], ast.ArrayTerm(list...)),
	), nil
}

// cacheKey encodes every part of in the policy can read, each length-prefixed so that no
// two inputs share a key (a separator byte could be forged inside a user agent). ok is
// false when the claims cannot be encoded; such inputs are not cached.
func (b *inputBuilder) cacheKey(in access.Input) (key string, ok bool) {
	var sb strings.Builder
	sb.Grow(96)
	field := func(s string) {
		sb.WriteString(strconv.Itoa(len(s)))
		sb.WriteByte(':')
		sb.WriteString(s)
	}
	list := func(ss []string) {
		sb.WriteString(strconv.Itoa(len(ss)))
		sb.WriteByte('[')
		for _, s := range ss {
			field(s)
		}
	}
	// opt writes a field the policy may not read; an unread field is written empty.
	opt := func(used bool, s string) {
		if !used {
			s = ""
		}
		field(s)
	}
	p := in.Principal
	field(p.Name)
	list(p.Groups)
	field(p.Method)
	if b.use.claims && len(p.Claims) > 0 {
		// encoding/json sorts map keys, so equal claims encode equally.
		c, err := json.Marshal(p.Claims)
		if err != nil {
			return "", false
		}
		field(string(c))
	} else {
		field("")
	}
	r := in.Request
	opt(b.use.method, r.Method)
	opt(b.use.path, r.Path)
	opt(b.use.clientIP, r.ClientIP)
	opt(b.use.userAgent, r.UserAgent)
	sb.WriteString(strconv.Itoa(len(in.Access)))
	for _, res := range in.Access {
		field(res.Type)
		field(res.Name)
		list(res.Actions)
	}
	return sb.String(), true
}
