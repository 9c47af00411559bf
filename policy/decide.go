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

// maxReasonScopes bounds how many refused scopes the generated reason names: a catalog
// page asks about thousands of repositories at once, and the reason goes to the audit log.
const maxReasonScopes = 5

// resKey identifies a resource.
type resKey struct{ typ, name string }

// indexActions unions the actions of each resource: a policy's answer may hold several
// entries per resource, and the catalog asks about thousands of resources at once, so
// lookups go through a map rather than a scan.
func indexActions(rs []access.Resource) map[resKey][]string {
	m := make(map[resKey][]string, len(rs))
	for _, r := range rs {
		k := resKey{r.Type, r.Name}
		m[k] = append(m[k], r.Actions...)
	}
	return m
}

// decide intersects the policy's answer with what was asked. Resources asked twice are
// merged; the result lists resources in the order first asked, actions in the order asked,
// and leaves out resources with nothing granted.
func decide(asked []access.Resource, a answer) access.Decision {
	grants, denials := indexActions(a.granted), indexActions(a.denied)
	type slot struct{ got, lacking []string }
	order := make([]resKey, 0, len(asked))
	slots := make(map[resKey]*slot, len(asked))
	for _, r := range asked {
		k := resKey{r.Type, r.Name}
		s := slots[k]
		if s == nil {
			s = &slot{}
			slots[k] = s
			order = append(order, k)
		}
		for _, act := range r.Actions {
			if slices.Contains(s.got, act) || slices.Contains(s.lacking, act) {
				continue
			}
			if covers(grants[k], act) && !revokes(denials[k], act) {
				s.got = append(s.got, act)
			} else {
				s.lacking = append(s.lacking, act)
			}
		}
	}
	var d access.Decision
	var missing []string
	for _, k := range order {
		s := slots[k]
		if len(s.got) > 0 {
			d.Granted = append(d.Granted, access.Resource{Type: k.typ, Name: k.name, Actions: s.got})
		}
		if len(s.lacking) > 0 {
			if len(missing) == maxReasonScopes {
				missing = append(missing, "...")
			} else if len(missing) < maxReasonScopes {
				missing = append(missing, access.Resource{Type: k.typ, Name: k.name, Actions: s.lacking}.Scope())
			}
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

// covers reports whether the granted actions include act; "*" grants every action.
func covers(granted []string, act string) bool {
	return slices.Contains(granted, act) || slices.Contains(granted, access.All)
}

// revokes reports whether the denied actions remove act. "*" denies every action, and
// asking for "*" is refused as soon as any action on the resource is denied.
func revokes(denied []string, act string) bool {
	return slices.Contains(denied, act) || slices.Contains(denied, access.All) ||
		(act == access.All && len(denied) > 0)
}
