package reference

import (
	"regexp"
	"strings"
	"testing"
)

// The spec's grammar, as regular expressions: the reading the matchers must agree with.
var (
	nameRE   = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)
	tagRE    = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
	digestRE = regexp.MustCompile(`^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$`)
	strictRE = regexp.MustCompile(`^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$`)
)

func TestGrammarTable(t *testing.T) {
	for _, tc := range []struct {
		s                 string
		name, tag, digest bool
	}{
		{"a", true, true, false},
		{"a/b", true, false, false},
		{"a__b", true, true, false},
		{"a___b", false, true, false},
		{"a--b", true, true, false},
		{"a..b", false, true, false},
		{"A", false, true, false},
		{"", false, false, false},
		{"_x", false, true, false},
		{".x", false, false, false},
		{strings.Repeat("t", 128), true, true, false},
		{strings.Repeat("t", 129), true, false, false},
		{strings.Repeat("a", 256), false, false, false},
		{"sha256:" + strings.Repeat("a", 64), false, false, true},
		{"sha256:" + strings.Repeat("A", 64), false, false, false},
		{"sha256:abc", false, false, false},
		{"sha512:" + strings.Repeat("b", 128), false, false, true},
		{"a+b.c_d-e:x=_-", false, false, true},
		{"a++b:c", false, false, false},
	} {
		if ValidName(tc.s) != tc.name || ValidTag(tc.s) != tc.tag || ValidDigest(tc.s) != tc.digest {
			t.Errorf("%q: name %v tag %v digest %v, want %v %v %v", tc.s,
				ValidName(tc.s), ValidTag(tc.s), ValidDigest(tc.s), tc.name, tc.tag, tc.digest)
		}
	}
}

func TestValidUploadID(t *testing.T) {
	for s, want := range map[string]bool{
		"08dc452b-8464-49e4-80a1-71b8b8318504": true,
		"T96VR9d0bq_K5Gp0=":                    true,
		strings.Repeat("a", 128):               true,
		strings.Repeat("a", 129):               false,
		"":                                     false,
		"..":                                   false,
		"a.b":                                  false,
		"a/b":                                  false,
		"a%2Fb":                                false,
		"a;b":                                  false,
	} {
		if ValidUploadID(s) != want {
			t.Errorf("ValidUploadID(%q) = %v, want %v", s, !want, want)
		}
	}
}

// FuzzGrammar checks the hand-written matchers against the spec's regular expressions.
func FuzzGrammar(f *testing.F) {
	for _, s := range []string{"a", "a/b", "a.b", "a__b", "a___b", "a--b", "a-", "-a", "a//b", "A", "a_b_c/d-e",
		"latest", "_x", ".x", "v1.2.3-rc_1", "sha256:" + strings.Repeat("a", 64), "sha256+b64u:Ab=_-",
		"sha256:", ":x", "a+:b", "a++b:c", strings.Repeat("t", 129)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidName(s), nameRE.MatchString(s) && len(s) <= MaxNameLen; got != want {
			t.Fatalf("ValidName(%q) = %v, regexp says %v", s, got, want)
		}
		if got, want := ValidTag(s), tagRE.MatchString(s); got != want {
			t.Fatalf("ValidTag(%q) = %v, regexp says %v", s, got, want)
		}
		if got, want := ValidDigestGrammar(s), digestRE.MatchString(s); got != want {
			t.Fatalf("ValidDigestGrammar(%q) = %v, regexp says %v", s, got, want)
		}
		alg, _, _ := strings.Cut(s, ":")
		switch {
		case alg == "sha256" || alg == "sha512":
			if ValidDigest(s) != strictRE.MatchString(s) {
				t.Fatalf("ValidDigest(%q) = %v, strict form says %v", s, ValidDigest(s), !ValidDigest(s))
			}
		case len(s) <= 256:
			if ValidDigest(s) != digestRE.MatchString(s) {
				t.Fatalf("ValidDigest(%q) = %v disagrees with the grammar", s, ValidDigest(s))
			}
		}
	})
}
