package access

import (
	"errors"
	"fmt"
	"strings"
)

// ErrScope is wrapped by every error ParseScope returns, so callers (the token issuer)
// can answer a malformed scope with one client error.
var ErrScope = errors.New("invalid scope")

// ParseScope parses one Docker token-spec resource scope, "type[(class)]:name:actions",
// for example "repository:team/app:pull,push" or "registry:catalog:*".
//
// The type is the text before the first colon and the actions the text after the last:
// a name may carry a registry host with a port ("repository:localhost:5000/app:pull"), as
// the spec's resourcename grammar allows and distribution's scope parser accepts. A
// resource class ("repository(plugin)") is checked and dropped: Resource has no class and
// no policy here distinguishes one. Actions are "*" or lowercase words, comma-separated;
// their order is kept. See https://distribution.github.io/distribution/spec/auth/scope/.
func ParseScope(s string) (Resource, error) {
	first := strings.IndexByte(s, ':')
	last := strings.LastIndexByte(s, ':')
	if first < 0 || first == last {
		return Resource{}, fmt.Errorf("%w %q: want type:name:actions", ErrScope, s)
	}
	typ, err := scopeType(s[:first])
	if err != nil {
		return Resource{}, fmt.Errorf("%w %q: %w", ErrScope, s, err)
	}
	name := s[first+1 : last]
	if err := scopeName(name); err != nil {
		return Resource{}, fmt.Errorf("%w %q: %w", ErrScope, s, err)
	}
	actions, err := scopeActions(s[last+1:])
	if err != nil {
		return Resource{}, fmt.Errorf("%w %q: %w", ErrScope, s, err)
	}
	return Resource{Type: typ, Name: name, Actions: actions}, nil
}

// ParseScopes parses a space-separated list of scopes, the form some clients send in a
// single scope parameter. An empty string yields no resources.
func ParseScopes(s string) ([]Resource, error) {
	fields := strings.Fields(s)
	out := make([]Resource, 0, len(fields))
	for _, f := range fields {
		r, err := ParseScope(f)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Scope formats r as a token-spec scope, "type:name:a,b". For a resource ParseScope
// returned, ParseScope(r.Scope()) gives r back.
func (r Resource) Scope() string {
	return r.Type + ":" + r.Name + ":" + strings.Join(r.Actions, ",")
}

// scopeType checks "type" or "type(class)" (each /[a-z0-9]+/) and returns the type.
func scopeType(s string) (string, error) {
	typ, class, hasClass := strings.Cut(s, "(")
	if hasClass {
		var ok bool
		if class, ok = strings.CutSuffix(class, ")"); !ok {
			return "", fmt.Errorf("resource type %q: unclosed class", s)
		}
		if !scopeWord(class, false) {
			return "", fmt.Errorf("resource class %q: want [a-z0-9]+", class)
		}
	}
	if !scopeWord(typ, false) {
		return "", fmt.Errorf("resource type %q: want [a-z0-9]+", typ)
	}
	return typ, nil
}

// scopeName rejects empty names and any whitespace or control character, which would
// break the space-separated scope list; the name's registry grammar is the classifier's job.
func scopeName(s string) error {
	if s == "" {
		return errors.New("empty resource name")
	}
	for _, c := range s {
		if c <= ' ' || c == 0x7f {
			return fmt.Errorf("resource name %q: contains space or control character", s)
		}
	}
	return nil
}

func scopeActions(s string) ([]string, error) {
	actions := strings.Split(s, ",")
	for _, a := range actions {
		if a != All && !scopeWord(a, true) {
			return nil, fmt.Errorf("action %q: want [a-z]+ or *", a)
		}
	}
	return actions, nil
}

// scopeWord reports whether s is non-empty and made of a-z (and 0-9 unless lettersOnly).
func scopeWord(s string, lettersOnly bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (lettersOnly || c < '0' || c > '9') {
			return false
		}
	}
	return true
}
