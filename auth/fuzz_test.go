package auth

import (
	"encoding/base64"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzParseBasic: parseBasic never panics; what it accepts re-encodes to the same header
// (modulo scheme case and spacing) and reads the same through net/http's BasicAuth.
func FuzzParseBasic(f *testing.F) {
	for _, s := range []string{
		"Basic " + b64("alice:secret"), "basic " + b64("a:b:c"), "BASIC   " + b64("u:"),
		"Basic " + b64(":p"), "Basic " + b64("nocolon"), "Basic YWxpY2U6cx==", "Basic !!",
		"Bearer x.y.z", "Basic", "", "Basic YWxp\nY2U6c2VjcmV0", "Basic " + b64("zoë:\x00\xff"),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		user, pass, err := parseBasic(header)
		if err != nil {
			if user != "" || pass != "" {
				t.Fatalf("error %v with values %q, %q", err, user, pass)
			}
			return
		}
		if user == "" || validUser(user) != nil {
			t.Fatalf("accepted invalid user %q", user)
		}
		scheme, rest, _ := strings.Cut(header, " ")
		enc := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
		if !strings.EqualFold(scheme, "Basic") || strings.TrimLeft(rest, " ") != enc {
			t.Fatalf("accepted %q, which is not the canonical encoding %q of what it read", header, enc)
		}
		u2, p2, err := parseBasic("Basic " + enc)
		if err != nil || u2 != user || p2 != pass {
			t.Fatalf("re-encoded header reads %q, %q, %v; want %q, %q", u2, p2, err, user, pass)
		}
		// A second reading: net/http agrees when there is a single space.
		if !strings.HasPrefix(rest, " ") {
			r := &http.Request{Header: http.Header{"Authorization": {header}}}
			hu, hp, ok := r.BasicAuth()
			if !ok || hu != user || hp != pass {
				t.Fatalf("net/http reads %q as %q, %q, %v; we read %q, %q", header, hu, hp, ok, user, pass)
			}
		}
	})
}

// FuzzParseGroups: parseGroups never panics; what it accepts is valid and canonical, and
// survives a round trip through both formats it reads.
func FuzzParseGroups(f *testing.F) {
	for _, s := range []string{
		"", "# c\n", "admins: alice bob\nteam-a: carol\n", "admins:\n",
		"groups: {admins: [alice], team-a: [bob, carol]}\n", "admins: [alice]\n",
		"groups:\n  admins:\n    - alice\n", "admins:\n- a\n- b\n", "---\nx: y\n",
		"a: &x [alice]\nb: *x\n", "admins: [~]\n", "'123': [\"456\"]\n", "- a\n", "{a: [b]}",
		"groups: [alice]\n", "admins: alice\nadmins: bob\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		groups, err := parseGroups(data)
		if err != nil {
			return
		}
		for g, members := range groups {
			if validGroupName(g) != nil {
				t.Fatalf("accepted invalid group name %q", g)
			}
			if members == nil || !slices.IsSorted(members) || len(slices.Compact(slices.Clone(members))) != len(members) {
				t.Fatalf("group %q members %q are not a sorted set", g, members)
			}
			for _, m := range members {
				if validGroupMember(m) != nil {
					t.Fatalf("accepted invalid member %q", m)
				}
			}
		}

		y, err := yaml.Marshal(map[string]map[string][]string{"groups": groups})
		if err != nil {
			t.Fatal(err)
		}
		if again, err := parseGroups(y); err != nil || !maps.EqualFunc(again, groups, slices.Equal) {
			t.Fatalf("YAML round trip of %v:\n%s\ngave %v, %v", groups, y, again, err)
		}

		if lines, ok := htgroupLines(groups); ok {
			if again, err := parseGroups([]byte(lines)); err != nil || !maps.EqualFunc(again, groups, slices.Equal) {
				t.Fatalf("htgroup round trip of %v:\n%s\ngave %v, %v", groups, lines, again, err)
			}
		}
	})
}

// htgroupLines renders groups as htgroup lines, if that format can hold them: a group name
// starting with "#" would read as a comment, and YAML-looking text would be read as YAML.
func htgroupLines(groups map[string][]string) (string, bool) {
	var b strings.Builder
	for _, g := range slices.Sorted(maps.Keys(groups)) {
		if strings.HasPrefix(g, "#") {
			return "", false
		}
		b.WriteString(g + ": " + strings.Join(groups[g], " ") + "\n")
	}
	return b.String(), !looksLikeYAML([]byte(b.String()))
}
