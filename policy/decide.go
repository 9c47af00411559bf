package policy

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/portcullis/portcullis/access"
)

// answer is what the policy said, before intersecting with what was asked.
type answer struct {
	granted []access.Resource
	denied  []access.Resource
	reason  string
}

// readAnswer decodes the query bindings. A malformed answer is an error, so a policy bug
// fails closed instead of granting by accident.
func readAnswer(b map[string]any) (answer, error) {
	var a answer
	var err error
	if a.granted, err = readResources(b["granted"], "granted"); err != nil {
		return answer{}, err
	}
	if a.denied, err = readResources(b["denied"], "denied"); err != nil {
		return answer{}, err
	}
	if a.reason, err = readReason(b["reason"]); err != nil {
		return answer{}, err
	}
	return a, nil
}

// only unwraps the query's [rule] or [x | x := rule]: nil when the rule is undefined or
// absent (not bound).
func only(v any, rule string) (any, error) {
	if v == nil {
		return nil, nil
	}
	vs, ok := v.([]any)
	if !ok || len(vs) > 1 {
		return nil, fmt.Errorf("policy rule %s: unexpected result %T", rule, v)
	}
	if len(vs) == 0 {
		return nil, nil
	}
	return vs[0], nil
}

func readResources(v any, rule string) ([]access.Resource, error) {
	v, err := only(v, rule)
	if err != nil || v == nil {
		return nil, err
	}
	items, ok := v.([]any) // sets and arrays both arrive as []any
	if !ok {
		return nil, fmt.Errorf("policy rule %s: want a set of {type, name, actions} objects, got %T", rule, v)
	}
	out := make([]access.Resource, 0, len(items))
	for _, it := range items {
		obj, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("policy rule %s: element %v is not an object", rule, it)
		}
		typ, ok1 := obj["type"].(string)
		name, ok2 := obj["name"].(string)
		acts, ok3 := obj["actions"].([]any)
		if !ok1 || !ok2 || !ok3 {
			return nil, fmt.Errorf("policy rule %s: element %v: want string type, string name and actions array", rule, it)
		}
		r := access.Resource{Type: typ, Name: name, Actions: make([]string, len(acts))}
		for i, a := range acts {
			if r.Actions[i], ok = a.(string); !ok {
				return nil, fmt.Errorf("policy rule %s: element %v: action %v is not a string", rule, it, a)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func readReason(v any) (string, error) {
	v, err := only(v, "reason")
	if err != nil || v == nil {
		return "", err
	}
	switch r := v.(type) {
	case string:
		return r, nil
	case []any:
		ss := make([]string, 0, len(r))
		for _, x := range r {
			s, ok := x.(string)
			if !ok {
				return "", fmt.Errorf("policy rule reason: element %v is not a string", x)
			}
			ss = append(ss, s)
		}
		sort.Strings(ss)
		return strings.Join(ss, "; "), nil
	default:
		return "", fmt.Errorf("policy rule reason: want a string or a set of strings, got %T", v)
	}
}

// decide intersects the policy's answer with what was asked. Resources asked twice are
// merged; the result lists resources in the order first asked, actions in the order asked,
// and leaves out resources with nothing granted.
func decide(asked []access.Resource, a answer) access.Decision {
	var d access.Decision
	var missing []string
	for i, want := range asked {
		if slices.ContainsFunc(asked[:i], func(r access.Resource) bool { return sameResource(r, want) }) {
			continue // merged into the first occurrence
		}
		var got, lacking []string
		for _, r := range asked[i:] {
			if !sameResource(r, want) {
				continue
			}
			for _, act := range r.Actions {
				if slices.Contains(got, act) || slices.Contains(lacking, act) {
					continue
				}
				if covers(a.granted, want, act) && !revokes(a.denied, want, act) {
					got = append(got, act)
				} else {
					lacking = append(lacking, act)
				}
			}
		}
		if len(got) > 0 {
			d.Granted = append(d.Granted, access.Resource{Type: want.Type, Name: want.Name, Actions: got})
		}
		if len(lacking) > 0 {
			missing = append(missing, access.Resource{Type: want.Type, Name: want.Name, Actions: lacking}.Scope())
		}
	}
	switch {
	case a.reason != "":
		d.Reason = a.reason
	case len(missing) > 0:
		d.Reason = "not granted by policy: " + strings.Join(missing, " ")
	case len(asked) == 0:
		d.Reason = "nothing asked"
	default:
		d.Reason = "granted by policy"
	}
	return d
}

func sameResource(a, b access.Resource) bool { return a.Type == b.Type && a.Name == b.Name }

// covers reports whether some grant on res includes act; "*" grants every action.
func covers(grants []access.Resource, res access.Resource, act string) bool {
	for _, g := range grants {
		if sameResource(g, res) && (slices.Contains(g.Actions, act) || slices.Contains(g.Actions, access.All)) {
			return true
		}
	}
	return false
}

// revokes reports whether some denial on res removes act. "*" denies every action, and
// asking for "*" is refused as soon as any action on the resource is denied.
func revokes(denials []access.Resource, res access.Resource, act string) bool {
	for _, g := range denials {
		if !sameResource(g, res) {
			continue
		}
		if slices.Contains(g.Actions, act) || slices.Contains(g.Actions, access.All) ||
			(act == access.All && len(g.Actions) > 0) {
			return true
		}
	}
	return false
}
