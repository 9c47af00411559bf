package access

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseScope(t *testing.T) {
	tests := []struct {
		in      string
		want    Resource
		wantErr bool
	}{
		{in: "repository:team/app:pull,push", want: Resource{Type: "repository", Name: "team/app", Actions: []string{"pull", "push"}}},
		{in: "repository:app:pull", want: Resource{Type: "repository", Name: "app", Actions: []string{"pull"}}},
		{in: "registry:catalog:*", want: Resource{Type: "registry", Name: "catalog", Actions: []string{"*"}}},
		{in: "repository:localhost:5000/app:pull", want: Resource{Type: "repository", Name: "localhost:5000/app", Actions: []string{"pull"}}},
		{in: "repository(plugin):vieux/sshfs:pull", want: Resource{Type: "repository", Name: "vieux/sshfs", Actions: []string{"pull"}}},
		{in: "repository:a/b/c:delete,pull,push", want: Resource{Type: "repository", Name: "a/b/c", Actions: []string{"delete", "pull", "push"}}},
		{in: "", wantErr: true},
		{in: "repository", wantErr: true},
		{in: "repository:app", wantErr: true},
		{in: "repository::pull", wantErr: true},
		{in: ":app:pull", wantErr: true},
		{in: "Repository:app:pull", wantErr: true},
		{in: "repository:app:", wantErr: true},
		{in: "repository:app:pull,", wantErr: true},
		{in: "repository:app:Pull", wantErr: true},
		{in: "repository:my app:pull", wantErr: true},
		{in: "repository(plugin:app:pull", wantErr: true},
		{in: "repository():app:pull", wantErr: true},
		{in: "repository(x)y:app:pull", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseScope(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseScope(%q) = %+v, want error", tt.in, got)
				}
				if !errors.Is(err, ErrScope) {
					t.Errorf("error %v does not wrap ErrScope", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseScope(%q): %v", tt.in, err)
			}
			if !resourceEqual(got, tt.want) {
				t.Errorf("ParseScope(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseScopes(t *testing.T) {
	got, err := ParseScopes("repository:a:pull  registry:catalog:*")
	if err != nil {
		t.Fatal(err)
	}
	want := []Resource{
		{Type: "repository", Name: "a", Actions: []string{"pull"}},
		{Type: "registry", Name: "catalog", Actions: []string{"*"}},
	}
	if !slices.EqualFunc(got, want, resourceEqual) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if _, err := ParseScopes("repository:a:pull bad"); err == nil {
		t.Error("want error for a bad second scope")
	}
	if got, err := ParseScopes(""); err != nil || len(got) != 0 {
		t.Errorf("empty: got %v, %v", got, err)
	}
}

func TestResourceScopeRoundTrip(t *testing.T) {
	r := Resource{Type: "repository", Name: "localhost:5000/team/app", Actions: []string{"push", "pull"}}
	if got, want := r.Scope(), "repository:localhost:5000/team/app:push,pull"; got != want {
		t.Fatalf("Scope() = %q, want %q", got, want)
	}
	back, err := ParseScope(r.Scope())
	if err != nil || !resourceEqual(back, r) {
		t.Fatalf("ParseScope(Scope()) = %+v, %v; want %+v", back, err, r)
	}
}

// FuzzParseScope checks that every accepted scope round-trips through Scope, that a scope
// without a class formats back to the same text, and that the parse agrees with a second,
// independent reading (split at the first and last colon).
func FuzzParseScope(f *testing.F) {
	for _, s := range []string{
		"repository:team/app:pull,push", "registry:catalog:*", "repository:localhost:5000/a:pull",
		"repository(plugin):x/y:pull", "repository:a:b:c:pull", "repository::pull", "a:b:", "::", "x",
		"repository:app:pull,,push", "repository:ä/b:pull",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseScope(s)
		if err != nil {
			return
		}
		again, err := ParseScope(r.Scope())
		if err != nil {
			t.Fatalf("ParseScope(%q) ok but its Scope() %q does not parse: %v", s, r.Scope(), err)
		}
		if !resourceEqual(again, r) {
			t.Fatalf("round trip: %+v -> %q -> %+v", r, r.Scope(), again)
		}
		if !strings.Contains(s[:strings.IndexByte(s, ':')], "(") && r.Scope() != s {
			t.Fatalf("Scope() = %q, want the input %q", r.Scope(), s)
		}
		// Second reading.
		typ, rest, _ := strings.Cut(s, ":")
		i := strings.LastIndexByte(rest, ':')
		name, actions := rest[:i], strings.Split(rest[i+1:], ",")
		if t0, _, _ := strings.Cut(typ, "("); t0 != r.Type || name != r.Name || !slices.Equal(actions, r.Actions) {
			t.Fatalf("ParseScope(%q) = %+v; second reading gives %q %q %q", s, r, typ, name, actions)
		}
		if r.Name == "" || len(r.Actions) == 0 || strings.ContainsAny(r.Name, " \t\r\n") {
			t.Fatalf("accepted a malformed resource %+v", r)
		}
	})
}

func resourceEqual(a, b Resource) bool {
	return a.Type == b.Type && a.Name == b.Name && slices.Equal(a.Actions, b.Actions)
}
