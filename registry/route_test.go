package registry

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/errcode"
	"github.com/portcullis/portcullis/reference"
)

func TestParseRoute(t *testing.T) {
	d := "sha256:" + strings.Repeat("a", 64)
	tests := []struct {
		method, path string
		want         Route
		wantErr      string // errcode
	}{
		{"GET", "/v2/", Route{Kind: KindBase}, ""},
		{"GET", "/v2/_catalog", Route{Kind: KindCatalog}, ""},
		{"GET", "/v2/foo/tags/list", Route{Kind: KindTags, Name: "foo"}, ""},
		{"GET", "/v2/a/b/c/tags/list", Route{Kind: KindTags, Name: "a/b/c"}, ""},
		{"PUT", "/v2/foo/manifests/latest", Route{Kind: KindManifest, Name: "foo", Reference: "latest"}, ""},
		{"HEAD", "/v2/foo/manifests/" + d, Route{Kind: KindManifest, Name: "foo", Reference: d}, ""},
		{"DELETE", "/v2/foo/blobs/" + d, Route{Kind: KindBlob, Name: "foo", Reference: d}, ""},
		{"POST", "/v2/foo/blobs/uploads/", Route{Kind: KindUploads, Name: "foo"}, ""},
		{"POST", "/v2/foo/blobs/uploads", Route{Kind: KindUploads, Name: "foo"}, ""},
		{"PATCH", "/v2/foo/blobs/uploads/abc-123", Route{Kind: KindUpload, Name: "foo", UploadID: "abc-123"}, ""},
		{"GET", "/v2/foo/referrers/" + d, Route{Kind: KindReferrers, Name: "foo", Reference: d}, ""},
		// Names may contain the route words; the trailing segments decide.
		{"GET", "/v2/blobs/manifests/latest", Route{Kind: KindManifest, Name: "blobs", Reference: "latest"}, ""},
		{"GET", "/v2/a/manifests/b/tags/list", Route{Kind: KindTags, Name: "a/manifests/b"}, ""},
		{"GET", "/v2/tags/blobs/uploads/x", Route{Kind: KindUpload, Name: "tags", UploadID: "x"}, ""},
		{"GET", "/v2/a__b/c-d.e/tags/list", Route{Kind: KindTags, Name: "a__b/c-d.e"}, ""},
		{"GET", "/v2/a---b/tags/list", Route{Kind: KindTags, Name: "a---b"}, ""},

		{"GET", "/v2/Foo/tags/list", Route{}, "NAME_INVALID"},
		{"GET", "/v2/a___b/tags/list", Route{}, "NAME_INVALID"},
		{"GET", "/v2/-a/tags/list", Route{}, "NAME_INVALID"},
		{"GET", "/v2/a./tags/list", Route{}, "NAME_INVALID"},
		{"GET", "/v2/../tags/list", Route{}, "NAME_INVALID"},
		{"GET", "/v2/a//b/tags/list", Route{}, "NAME_INVALID"},
		{"GET", "/v2/" + strings.Repeat("a", 256) + "/tags/list", Route{}, "NAME_INVALID"},
		{"GET", "/v2/tags/list", Route{}, "NAME_UNKNOWN"},
		{"GET", "/v2/foo/manifests/.bad", Route{}, "MANIFEST_INVALID"},
		{"GET", "/v2/foo/manifests/" + strings.Repeat("t", 129), Route{}, "MANIFEST_INVALID"},
		{"GET", "/v2/foo/blobs/latest", Route{}, "DIGEST_INVALID"},
		{"GET", "/v2/foo/referrers/latest", Route{}, "DIGEST_INVALID"},
		{"GET", "/v2/foo/blobs/uploads/..", Route{}, "BLOB_UPLOAD_UNKNOWN"},
		{"GET", "/v2/foo/uploads/x", Route{}, "NAME_UNKNOWN"},
		{"GET", "/v2/foo", Route{}, "NAME_UNKNOWN"},
		{"GET", "/v2/foo/bar", Route{}, "NAME_UNKNOWN"},
		{"GET", "/v2/foo/tags/list/", Route{}, "NAME_UNKNOWN"},
		{"GET", "/v3/foo/tags/list", Route{}, "NAME_UNKNOWN"},
		{"GET", "/", Route{}, "NAME_UNKNOWN"},
		{"POST", "/v2/foo/manifests/latest", Route{}, "UNSUPPORTED"},
		{"PATCH", "/v2/foo/blobs/uploads/", Route{}, "UNSUPPORTED"},
		{"PUT", "/v2/_catalog", Route{}, "UNSUPPORTED"},
		{"DELETE", "/v2/foo/tags/list", Route{}, "UNSUPPORTED"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			got, err := ParseRoute(tc.method, &url.URL{Path: tc.path})
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("got %+v, want error %s", got, tc.wantErr)
				}
				if code := errCodeOf(err); code != tc.wantErr {
					t.Fatalf("error %v has code %s, want %s", err, code, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// A second reading of the grammars, straight from the spec's regular expressions.
var (
	nameRE   = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)
	tagRE    = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
	digestRE = regexp.MustCompile(`^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$`)
	strictRE = regexp.MustCompile(`^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$`)
)

// render writes a route back as a path.
func render(rt Route) string {
	switch rt.Kind {
	case KindBase:
		return "/v2/"
	case KindCatalog:
		return "/v2/_catalog"
	case KindTags:
		return "/v2/" + rt.Name + "/tags/list"
	case KindManifest:
		return "/v2/" + rt.Name + "/manifests/" + rt.Reference
	case KindBlob:
		return "/v2/" + rt.Name + "/blobs/" + rt.Reference
	case KindUploads:
		return "/v2/" + rt.Name + "/blobs/uploads/"
	case KindUpload:
		return "/v2/" + rt.Name + "/blobs/uploads/" + rt.UploadID
	case KindReferrers:
		return "/v2/" + rt.Name + "/referrers/" + rt.Reference
	}
	return ""
}

func FuzzParseRoute(f *testing.F) {
	for _, s := range []string{"/v2/", "/v2/_catalog", "/v2/a/b/tags/list", "/v2/foo/manifests/latest",
		"/v2/foo/blobs/sha256:" + strings.Repeat("0", 64), "/v2/foo/blobs/uploads/", "/v2/foo/blobs/uploads/u-1",
		"/v2/foo/referrers/sha512:" + strings.Repeat("f", 128), "/v2/a/manifests/b/tags/list", "/v2/a//b/tags/list",
		"/v2/a/blobs/uploads", "/v2/x/manifests/sha256:abc", "/v2/../x/tags/list"} {
		f.Add("GET", s)
	}
	f.Add("PATCH", "/v2/foo/blobs/uploads/abc")
	f.Fuzz(func(t *testing.T, method, path string) {
		rt, err := ParseRoute(method, &url.URL{Path: path})
		if err != nil {
			if errCodeOf(err) == "" {
				t.Fatalf("error %v is not an errcode", err)
			}
			return
		}
		if rt.Name != "" && !nameRE.MatchString(rt.Name) {
			t.Fatalf("name %q accepted but not in the grammar", rt.Name)
		}
		if rt.Reference != "" && !tagRE.MatchString(rt.Reference) && !digestRE.MatchString(rt.Reference) {
			t.Fatalf("reference %q accepted but not in the grammar", rt.Reference)
		}
		if strings.Contains(rt.UploadID, "/") || strings.Contains(rt.UploadID, ".") {
			t.Fatalf("upload id %q", rt.UploadID)
		}
		// Round trip: the route written back reads as the same route.
		again, err := ParseRoute(method, &url.URL{Path: render(rt)})
		if err != nil || again != rt {
			t.Fatalf("round trip of %q: %+v -> %q -> %+v, %v", path, rt, render(rt), again, err)
		}
		if p := render(rt); p != path && !(rt.Kind == KindUploads && path == strings.TrimSuffix(p, "/")) && !(rt.Kind == KindBase && path == "/v2") {
			t.Fatalf("%q read as %+v, which renders as %q", path, rt, p)
		}
	})
}

func FuzzGrammars(f *testing.F) {
	for _, s := range []string{"a", "a/b", "a__b", "a___b", "a--b", "a.b", "a..b", "A", "", "-", "sha256:abc",
		"sha256:" + strings.Repeat("a", 64), "sha512:" + strings.Repeat("b", 128), "sha256:" + strings.Repeat("A", 64),
		"a+b.c_d-e:x=_-", "latest", "_tag", ".tag", strings.Repeat("t", 128), strings.Repeat("t", 129)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := reference.ValidName(s), nameRE.MatchString(s) && len(s) <= maxNameLen; got != want {
			t.Errorf("reference.ValidName(%q) = %v, regexp says %v", s, got, want)
		}
		if got, want := reference.ValidTag(s), tagRE.MatchString(s); got != want {
			t.Errorf("reference.ValidTag(%q) = %v, regexp says %v", s, got, want)
		}
		if got, want := reference.ValidDigestGrammar(s), digestRE.MatchString(s); got != want {
			t.Errorf("reference.ValidDigestGrammar(%q) = %v, regexp says %v", s, got, want)
		}
		d, ok := parseDigest(s)
		if ok != strictRE.MatchString(s) {
			t.Errorf("parseDigest(%q) ok = %v, regexp says %v", s, ok, !ok)
		}
		if ok && d.String() != s {
			t.Errorf("parseDigest(%q).String() = %q", s, d)
		}
		if ok && !reference.ValidDigestGrammar(s) {
			t.Errorf("strict digest %q outside the grammar", s)
		}
	})
}

func errCodeOf(err error) string {
	var e *errcode.Error
	if errors.As(err, &e) {
		return string(e.Code)
	}
	return ""
}
