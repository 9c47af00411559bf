package registry

import (
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/reference"
)

// strictRE is the one digest form the registry stores: sha256 or sha512, lowercase hex.
var strictRE = regexp.MustCompile(`^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$`)

// FuzzParseDigest checks parseDigest against the strict form (a second reading), that
// what it accepts prints back unchanged, and that it is inside the spec's grammar the
// router checks (reference.ValidDigestGrammar), so a digest route never reaches a handler
// that could read it while the router could not.
func FuzzParseDigest(f *testing.F) {
	for _, s := range []string{"", "sha256:abc", "sha256:" + strings.Repeat("a", 64), "sha512:" + strings.Repeat("b", 128),
		"sha256:" + strings.Repeat("A", 64), "sha384:" + strings.Repeat("c", 96), "a+b.c_d-e:x=_-", "latest"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseDigest(s)
		if ok != strictRE.MatchString(s) {
			t.Fatalf("parseDigest(%q) ok = %v, regexp says %v", s, ok, !ok)
		}
		if ok && d.String() != s {
			t.Fatalf("parseDigest(%q).String() = %q", s, d)
		}
		if ok && !reference.ValidDigestGrammar(s) {
			t.Fatalf("strict digest %q outside the grammar", s)
		}
	})
}
