package integration

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// TestDefaultPolicyRealClient drives the default policy with go-containerregistry, the
// client library crane and ko use: a user pulls everything, pushes and deletes only under
// "<user>/", and a push elsewhere fails with DENIED; anonymous clients get nothing.
func TestDefaultPolicyRealClient(t *testing.T) {
	s := newStack(t, mustLoad(t, defaultPolicy), nil)
	seeded := seedImage(t, s, "other/app", "bob/app")
	ctx := t.Context()
	ref := func(r string) name.Reference {
		t.Helper()
		n, err := name.ParseReference(s.Host+"/"+r, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	as := func(user string) []remote.Option {
		return []remote.Option{userAuth(user), remote.WithContext(ctx)}
	}

	t.Run("pull everything", func(t *testing.T) {
		for _, repo := range []string{"other/app", "bob/app"} {
			img, err := pullImage(s, reader, repo)
			if err != nil {
				t.Fatalf("alice pulling %s: %v", repo, err)
			}
			if d, _ := img.Digest(); d.String() != seeded.Digest {
				t.Errorf("pulled %s digest %s, want %s", repo, d, seeded.Digest)
			}
		}
	})

	own, err := random.Image(300, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("push own namespace", func(t *testing.T) {
		if err := remote.Write(ref("alice/app:v1"), own, as(reader)...); err != nil {
			t.Fatalf("alice pushing alice/app: %v", err)
		}
		img, err := pullImage(s, reader, "alice/app")
		if err != nil {
			t.Fatalf("pulling back: %v", err)
		}
		want, _ := own.Digest()
		if got, _ := img.Digest(); got != want {
			t.Errorf("pulled back %s, pushed %s", got, want)
		}
	})

	t.Run("push elsewhere denied", func(t *testing.T) {
		for _, target := range []string{"other/app:v1", "bob/app:v2", "alicex/app:v1", "app:v1"} {
			err := remote.Write(ref(target), own, as(reader)...)
			assertDenied(t, "alice pushing "+target, err, "DENIED", 403)
			if err != nil && !strings.Contains(err.Error(), "DENIED") {
				t.Errorf("alice pushing %s: error %q does not say DENIED", target, err)
			}
		}
		img, err := pullImage(s, admin, "other/app")
		if err != nil {
			t.Fatal(err)
		}
		if d, _ := img.Digest(); d.String() != seeded.Digest {
			t.Errorf("other/app:v1 is now %s after a denied push; want %s", d, seeded.Digest)
		}
	})

	t.Run("delete", func(t *testing.T) {
		err := remote.Delete(ref("other/app@"+seeded.Digest), as(reader)...)
		assertDenied(t, "alice deleting other/app", err, "DENIED", 403)
		d, _ := own.Digest()
		if err := remote.Delete(ref("alice/app@"+d.String()), as(reader)...); err != nil {
			t.Errorf("alice deleting her own manifest: %v", err)
		}
	})

	t.Run("catalog", func(t *testing.T) {
		reg, err := name.NewRegistry(s.Host, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		repos, err := remote.Catalog(ctx, reg, userAuth(member))
		if err != nil {
			t.Fatalf("bob listing the catalog: %v", err)
		}
		for _, want := range []string{"alice/app", "bob/app", "other/app"} {
			if !slices.Contains(repos, want) {
				t.Errorf("catalog %v lacks %s", repos, want)
			}
		}
	})

	t.Run("anonymous", func(t *testing.T) {
		_, err := pullImage(s, anon, "other/app")
		assertDenied(t, "anonymous pull", err, "UNAUTHORIZED", 401)
		err = remote.Write(ref("other/app:v1"), own, remote.WithAuth(authn.Anonymous), remote.WithContext(ctx))
		assertDenied(t, "anonymous push", err, "UNAUTHORIZED", 401)
	})

	t.Run("wrong password", func(t *testing.T) {
		_, err := remote.Image(ref("other/app:v1"), remote.WithAuth(&authn.Basic{Username: reader, Password: "nope"}),
			remote.WithContext(ctx))
		assertDenied(t, "bad password", err, "UNAUTHORIZED", 401)
	})
}

// assertDenied checks that err is the registry's refusal with code and status, as
// go-containerregistry reports it to its users.
func assertDenied(t *testing.T, what string, err error, code string, status int) {
	t.Helper()
	if err == nil {
		t.Errorf("%s succeeded, want %s", what, code)
		return
	}
	var te *transport.Error
	if !errors.As(err, &te) {
		t.Errorf("%s: %v (%T), want a registry error", what, err, err)
		return
	}
	if te.StatusCode != status {
		t.Errorf("%s: status %d, want %d (%v)", what, te.StatusCode, status, err)
	}
	// A refused HEAD has no body, so the client can only quote the status.
	if !strings.Contains(err.Error(), code) && !strings.Contains(err.Error(), strconv.Itoa(status)) {
		t.Errorf("%s: error %q mentions neither %s nor %d", what, err, code, status)
	}
}

// TestPublicReadRealClient: under the public-read example an anonymous go-containerregistry
// client pulls a public repository (after the 401 its /v2/ ping gets) but not a private
// one, and cannot push even to a public one.
func TestPublicReadRealClient(t *testing.T) {
	s := newStack(t, mustLoad(t, publicPolicy), nil)
	seeded := seedImage(t, s, "library/alpine", "public/web", "private/app")
	for _, repo := range []string{"library/alpine", "public/web"} {
		img, err := pullImage(s, anon, repo)
		if err != nil {
			t.Fatalf("anonymous pull of public %s: %v", repo, err)
		}
		if d, _ := img.Digest(); d.String() != seeded.Digest {
			t.Errorf("pulled %s digest %s, want %s", repo, d, seeded.Digest)
		}
	}
	_, err := pullImage(s, anon, "private/app")
	assertDenied(t, "anonymous pull of private/app", err, "UNAUTHORIZED", 401)
	if _, err := pullImage(s, reader, "private/app"); err != nil {
		t.Errorf("alice pulling private/app: %v", err)
	}
	img, err := random.Image(100, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(s.Host+"/public/web:v2", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	err = remote.Write(ref, img, remote.WithAuth(authn.Anonymous), remote.WithContext(t.Context()))
	assertDenied(t, "anonymous push to public/web", err, "UNAUTHORIZED", 401)
}
