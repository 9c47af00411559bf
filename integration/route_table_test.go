package integration

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/distspec"
	"github.com/portcullis/portcullis/errcode"
	"github.com/portcullis/portcullis/reference"
)

const dig2 = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

// classificationTable is every path of the classification tables: gateway/classify_test.go's
// (endpoints, mounts, refusals) and the bundled registry's route table (now distspec's),
// each of them tried under every method below.
var classificationTable = []string{
	// gateway/classify_test.go: endpoints
	"/v2/", "/v2", "/v2/_catalog", "/v2/_catalog?n=10&last=a", "/v1/search?q=foo",
	"/v2/library/alpine/tags/list", "/v2/a/manifests/latest", "/v2/a/b/c/manifests/" + dig,
	"/v2/my-app/blobs/" + dig, "/v2/x.y__z/blobs/uploads/", "/v2/x/blobs/uploads/?digest=" + dig,
	"/v2/x/blobs/uploads", "/v2/x/blobs/uploads/3f1c-AB_9=", "/v2/x/referrers/" + dig,
	"/v2/blobs/manifests/manifests/v1", "/v2/tags/uploads/blobs/" + dig,
	// gateway/classify_test.go: mounts
	"/v2/dst/blobs/uploads/?mount=" + dig + "&from=src/lib", "/v2/dst/blobs/uploads/?from=src&mount=" + dig,
	"/v2/dst/blobs/uploads/?mount=" + dig, "/v2/dst/blobs/uploads/?from=src",
	"/v2/dst/blobs/uploads/?mount=sha256:zz&from=src", "/v2/dst/blobs/uploads/?mount=" + dig + "&from=Src",
	"/v2/dst/blobs/uploads/?mount=" + dig + "&from=a&from=b",
	"/v2/dst/blobs/uploads/?mount=" + dig + "&mount=" + dig2 + "&from=a",
	"/v2/dst/blobs/uploads/?mount=" + dig + ";from=a",
	// gateway/classify_test.go: refusals
	"/v2/a%2Fb/manifests/latest", "/v2/%61/manifests/latest", "/v2/a%25/manifests/latest",
	"/v2/a/%2e%2e/b/manifests/latest", "/v2/a/../b/manifests/latest", "/v2/a/./manifests/latest",
	"/v2/a/manifests/..", "/v2/../admin", "/v2/a//b/manifests/latest", "/v2//a/manifests/latest",
	"/v2/a;x=y/manifests/latest", "/v2/a/manifests/latest;v=1", "/v2/a b/manifests/latest",
	"/v2/Alpine/manifests/latest", "/v2/-a/manifests/latest", "/v2/a-/manifests/latest",
	"/v2/a___b/manifests/latest", "/v2/" + strings.Repeat("a", 256) + "/manifests/latest",
	"/v2/a/manifests/.hidden", "/v2/a/manifests/-x", "/v2/a/manifests/" + strings.Repeat("a", 129),
	"/v2/a/manifests/sha256:abc", "/v2/a/manifests/Sha256:abc",
	"/v2/a/blobs/sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
	"/v2/a/blobs/latest", "/v2/a/blobs/:abc", "/v2/a/referrers/sha512:00", "/v2/a/blobs/uploads/a.b",
	"/v2/a/blobs/uploads/a+b", "/v2/a/manifests/latest?x=%zz", "/v2/a/manifests/latest#frag",
	"/v2/\u00e4/manifests/latest", "/v2/a/unknown/x", "/v2/manifests/latest", "/v2/a/tags/all", "/",
	"/metrics", "/v2/a/x/uploads/abc", "/v2/_catalog/",
	// the bundled registry's route table
	"/v2/foo/tags/list", "/v2/a/b/c/tags/list", "/v2/foo/manifests/" + dig, "/v2/foo/blobs/" + dig,
	"/v2/foo/blobs/uploads/", "/v2/foo/blobs/uploads", "/v2/foo/blobs/uploads/abc-123", "/v2/foo/referrers/" + dig,
	"/v2/blobs/manifests/latest", "/v2/a/manifests/b/tags/list", "/v2/tags/blobs/uploads/x",
	"/v2/a__b/c-d.e/tags/list", "/v2/a---b/tags/list", "/v2/Foo/tags/list", "/v2/a___b/tags/list",
	"/v2/-a/tags/list", "/v2/a./tags/list", "/v2/../tags/list", "/v2/a//b/tags/list",
	"/v2/" + strings.Repeat("a", 256) + "/tags/list", "/v2/tags/list", "/v2/foo/manifests/.bad",
	"/v2/foo/manifests/" + strings.Repeat("t", 129), "/v2/foo/blobs/latest", "/v2/foo/referrers/latest",
	"/v2/foo/blobs/uploads/..", "/v2/foo/uploads/x", "/v2/foo", "/v2/foo/bar", "/v2/foo/tags/list/",
	"/v3/foo/tags/list",
}

var tableMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"}

// TestRouteTableAgreement runs agree over every path of the classification tables
// under every method: the gateway and the bundled registry classify each identically
// through the one grammar (route for route; refusal for refusal, but for the gateway's
// documented stricter refusals). Paths no server would parse (a space, non-ASCII) are
// given as built URLs.
func TestRouteTableAgreement(t *testing.T) {
	count := map[outcome]int{}
	for _, raw := range classificationTable {
		for _, m := range tableMethods {
			t.Run(m+" "+raw, func(t *testing.T) {
				u, err := url.ParseRequestURI(raw)
				if err != nil {
					u = &url.URL{Path: raw}
				}
				count[agreeURL(t, m, u)]++
			})
		}
	}
	t.Logf("%d agreed, %d refused by both, %d refused by the gateway alone, %d the gateway's own",
		count[same], count[bothRefused], count[stricter], count[skipped])
	if count[same] == 0 || count[bothRefused] == 0 || count[stricter] == 0 {
		t.Fatal("the table must exercise every case")
	}
}

var strictDigestRE = regexp.MustCompile(`^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$`)

// stricterReason restates the gateway's refusals on top of the shared grammar (see
// gateway.Classify): why it refuses a request the registry reads as rt, or "".
func stricterReason(u *url.URL, rt distspec.Route) string {
	p := u.Path
	switch {
	case u.Opaque != "" || (u.RawPath != "" && u.RawPath != p):
		return "escapes"
	case strings.Contains(p, "//"):
		return "empty segment"
	case strings.Contains(p+"/", "/./") || strings.Contains(p+"/", "/../"):
		return "dot segment"
	case strings.IndexFunc(p, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("/._-:=+", c))
	}) >= 0:
		return "byte outside the alphabets"
	}
	if alg, _, ok := strings.Cut(rt.Reference, ":"); ok && (len(rt.Reference) > 256 ||
		(alg == "sha256" || alg == "sha512") && !strictDigestRE.MatchString(rt.Reference)) {
		return "digest of the wrong length"
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "ambiguous query"
	}
	if rt.Kind == distspec.KindUploads && (len(q["mount"]) > 1 || len(q["from"]) > 1 ||
		(q.Has("mount") && q.Has("from") && (!strictDigestRE.MatchString(q.Get("mount")) || !reference.ValidName(q.Get("from"))))) {
		return "bad mount"
	}
	return ""
}

func codeOf(err error) (errcode.Code, int) {
	var e *errcode.Error
	if !errors.As(err, &e) {
		return "", 0
	}
	return e.Code, e.HTTPStatus()
}

func codeOnly(err error) errcode.Code { c, _ := codeOf(err); return c }
func statusOf(err error) int          { _, s := codeOf(err); return s }

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
