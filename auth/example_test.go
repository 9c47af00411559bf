package auth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/auth"
)

func Example() {
	dir, _ := os.MkdirTemp("", "auth-example")
	defer os.RemoveAll(dir)
	users := filepath.Join(dir, "htpasswd")
	groups := filepath.Join(dir, "groups")

	// What `gateway passwd alice` does, then a groups file.
	if err := auth.SetPassword(users, "alice", []byte("wonderland"), 4); err != nil {
		fmt.Println(err)
		return
	}
	os.WriteFile(groups, []byte("groups: {admins: [alice]}\n"), 0o600)

	h, err := auth.NewHtpasswd(users, auth.HtpasswdOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	g, err := auth.NewGroups(groups, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	basic := &auth.Basic{Users: h, Groups: g, Realm: "registry"}

	for _, pass := range []string{"wonderland", "guess"} {
		r, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "/v2/", nil)
		r.SetBasicAuth("alice", pass)
		p, err := basic.Authenticate(r.Context(), r)
		switch {
		case errors.Is(err, access.ErrBadCredentials):
			fmt.Println("denied; challenge:", basic.Challenge(r))
		case err != nil:
			fmt.Println("error:", err)
		default:
			fmt.Println(p.Name, p.Method, p.Groups)
		}
	}
	// Output:
	// alice basic [admins]
	// denied; challenge: Basic realm="registry"
}
