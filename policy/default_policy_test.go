package policy

import (
	"slices"
	"testing"

	"github.com/portcullis/portcullis/access"
)

func repo(name string, actions ...string) access.Resource {
	return access.Resource{Type: access.TypeRepository, Name: name, Actions: actions}
}

var catalog = access.Resource{Type: access.TypeRegistry, Name: "catalog", Actions: []string{access.All}}

// TestDefaultPolicy is the default policy's truth table: anonymous, a reader, a user in
// their own namespace and an admin, against pull, push, delete, a mount and the catalog.
func TestDefaultPolicy(t *testing.T) {
	e, err := Default(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	anon := access.Anonymous()
	alice := access.Principal{Name: "alice", Groups: []string{"dev"}, Method: access.MethodBasic}
	root := access.Principal{Name: "root", Groups: []string{"admins"}, Method: access.MethodBearer}
	tests := []struct {
		name  string
		who   access.Principal
		asked []access.Resource
		want  []access.Resource // granted
	}{
		{"anonymous pull", anon, []access.Resource{repo("alice/app", "pull")}, nil},
		{"anonymous catalog", anon, []access.Resource{catalog}, nil},
		{"anonymous with admins group", access.Principal{Method: access.MethodAnonymous, Groups: []string{"admins"}}, []access.Resource{repo("x", "pull")}, nil},
		{"empty method is anonymous", access.Principal{Name: "alice"}, []access.Resource{repo("alice/app", "pull")}, nil},
		{"reader pulls others", alice, []access.Resource{repo("bob/app", "pull")}, []access.Resource{repo("bob/app", "pull")}},
		{"reader cannot push others", alice, []access.Resource{repo("bob/app", "pull", "push")}, []access.Resource{repo("bob/app", "pull")}},
		{"reader cannot delete others", alice, []access.Resource{repo("bob/app", "delete")}, nil},
		{"reader cannot push top level", alice, []access.Resource{repo("alice", "push")}, nil},
		{"prefix is not a namespace", alice, []access.Resource{repo("alicex/app", "push")}, nil},
		{"own namespace push", alice, []access.Resource{repo("alice/app", "pull", "push")}, []access.Resource{repo("alice/app", "pull", "push")}},
		{"own namespace delete", alice, []access.Resource{repo("alice/a/b", "delete")}, []access.Resource{repo("alice/a/b", "delete")}},
		{"mount from others into own", alice,
			[]access.Resource{repo("alice/app", "pull", "push"), repo("bob/base", "pull")},
			[]access.Resource{repo("alice/app", "pull", "push"), repo("bob/base", "pull")}},
		{"mount into others", alice,
			[]access.Resource{repo("bob/app", "pull", "push"), repo("alice/base", "pull")},
			[]access.Resource{repo("bob/app", "pull"), repo("alice/base", "pull")}},
		{"user catalog", alice, []access.Resource{catalog}, []access.Resource{catalog}},
		{"admin push anywhere", root, []access.Resource{repo("bob/app", "pull", "push")}, []access.Resource{repo("bob/app", "pull", "push")}},
		{"admin delete", root, []access.Resource{repo("x", "delete")}, []access.Resource{repo("x", "delete")}},
		{"admin catalog", root, []access.Resource{catalog}, []access.Resource{catalog}},
		{"unknown type", alice, []access.Resource{{Type: "plugin", Name: "x", Actions: []string{"pull"}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := access.Input{Principal: tt.who, Request: access.Request{Method: "GET", Path: "/v2/"}, Access: tt.asked}
			d, err := e.Authorize(t.Context(), in)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(d.Granted, tt.want, resourceEqual) {
				t.Errorf("granted %+v, want %+v", d.Granted, tt.want)
			}
			if d.Reason == "" {
				t.Error("empty reason")
			}
			if d.AllowsAll(tt.asked) != slices.EqualFunc(tt.asked, tt.want, resourceEqual) {
				t.Errorf("AllowsAll = %v disagrees with the table", d.AllowsAll(tt.asked))
			}
		})
	}
}

func resourceEqual(a, b access.Resource) bool {
	return a.Type == b.Type && a.Name == b.Name && slices.Equal(a.Actions, b.Actions)
}
