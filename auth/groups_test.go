package auth

import (
	"errors"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseGroups(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    map[string][]string
		wantErr string
	}{
		{"empty", "", map[string][]string{}, ""},
		{"comments only", "# nothing\n\n", map[string][]string{}, ""},
		{"yaml under groups", "groups: {admins: [alice], team-a: [bob, carol]}\n",
			map[string][]string{"admins": {"alice"}, "team-a": {"bob", "carol"}}, ""},
		{"yaml block under groups", "groups:\n  admins:\n    - alice\n  team-a: [carol, bob]\n",
			map[string][]string{"admins": {"alice"}, "team-a": {"bob", "carol"}}, ""},
		{"yaml plain", "admins: [alice]\nteam-a: [bob, carol, bob]\n",
			map[string][]string{"admins": {"alice"}, "team-a": {"bob", "carol"}}, ""},
		{"yaml block list", "admins:\n- alice\n- bob\n", map[string][]string{"admins": {"alice", "bob"}}, ""},
		{"yaml empty group", "admins: []\nusers:\n- x\n", map[string][]string{"admins": {}, "users": {"x"}}, ""},
		{"yaml document marker", "---\nadmins: alice\n", map[string][]string{"admins": {"alice"}}, ""},
		{"yaml group named groups", "groups: [alice]\n", map[string][]string{"groups": {"alice"}}, ""},
		{"yaml quoted user", "admins: ['null', \"123\"]\n", map[string][]string{"admins": {"123", "null"}}, ""},
		{"htgroup lines", "admins: alice bob\nteam-a: carol\n",
			map[string][]string{"admins": {"alice", "bob"}, "team-a": {"carol"}}, ""},
		{"htgroup repeated group merges", "admins: alice\nadmins: bob alice\n",
			map[string][]string{"admins": {"alice", "bob"}}, ""},
		{"htgroup empty group", "admins:\n", map[string][]string{"admins": {}}, ""},
		{"htgroup crlf and tabs", "admins:\talice  bob\r\n", map[string][]string{"admins": {"alice", "bob"}}, ""},
		{"single user, either reading", "admins: alice\n", map[string][]string{"admins": {"alice"}}, ""},

		{"htgroup no colon", "admins alice\n", nil, "line 1"},
		{"htgroup empty name", ": alice\n", nil, "empty group name"},
		{"htgroup name with space", "my admins: alice\n", nil, "contains a space"},
		{"yaml bad syntax", "admins: [alice\n", nil, "parsing YAML"},
		{"yaml duplicate group", "admins: [a]\nadmins: [b]\n", nil, "more than once"},
		{"yaml scalar with spaces", "groups:\n  admins: alice bob\n", nil, "[alice, bob]"},
		{"yaml nested mapping", "admins: [{name: alice}]\n", nil, "want a user name"},
		{"yaml mapping value", "admins: {alice: 1}\n", nil, "want a list"},
		{"yaml null member", "admins: [~]\n", nil, "want a user name"},
		{"yaml member with colon", "admins: ['a:b']\n", nil, "colon"},
		{"yaml top-level list", "- alice\n", nil, "want a mapping"},
		{"yaml alias", "a: &x [alice]\nb: *x\n", nil, "want a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseGroups([]byte(tt.content))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseGroups error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseGroups: %v", err)
			}
			if !maps.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("parseGroups = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestGroupsFor(t *testing.T) {
	path := writeFile(t, t.TempDir(), "groups", "zeta: [alice]\nalpha: [alice, bob]\nmid: [alice]\n")
	g, err := NewGroups(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user string
		want []string
	}{
		{"alice", []string{"alpha", "mid", "zeta"}},
		{"bob", []string{"alpha"}},
		{"nobody", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			got := g.For(tt.user)
			if got == nil || !slices.Equal(got, tt.want) {
				t.Fatalf("For(%q) = %#v, want %#v", tt.user, got, tt.want)
			}
		})
	}
	t.Run("caller owns the slice", func(t *testing.T) {
		g.For("alice")[0] = "root"
		if g.For("alice")[0] != "alpha" {
			t.Fatal("modifying the result changed the groups")
		}
	})
}

func TestGroupsReload(t *testing.T) {
	path := writeFile(t, t.TempDir(), "groups", "admins: alice\n")
	g, err := NewGroups(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Dir(path), "groups", "admins: [alice\n")
	if err := g.Reload(t.Context()); err == nil {
		t.Fatal("Reload accepted a broken file")
	}
	if !slices.Equal(g.For("alice"), []string{"admins"}) {
		t.Fatal("a broken file changed the groups")
	}
	writeFile(t, filepath.Dir(path), "groups", "admins: bob\n")
	if err := g.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(g.For("alice")) != 0 || !slices.Equal(g.For("bob"), []string{"admins"}) {
		t.Fatal("reload did not replace the groups")
	}
}

func TestNewGroupsMissing(t *testing.T) {
	_, err := NewGroups(filepath.Join(t.TempDir(), "nope"), nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("NewGroups(missing) = %v, want ErrNotExist", err)
	}
}
