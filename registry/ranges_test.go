package registry

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"
)

func TestParseRange(t *testing.T) {
	tests := []struct {
		h    string
		size int64
		want byteRange
		res  rangeResult
	}{
		{"bytes=0-0", 10, byteRange{0, 0}, rangeOK},
		{"bytes=500-1499", 2000, byteRange{500, 1499}, rangeOK},
		{"bytes=500-", 2000, byteRange{500, 1999}, rangeOK},
		{"bytes=-500", 2000, byteRange{1500, 1999}, rangeOK},
		{"bytes=-5000", 2000, byteRange{0, 1999}, rangeOK},
		{"bytes=1500-5000", 2000, byteRange{1500, 1999}, rangeOK},
		{"bytes=500-0", 2000, byteRange{}, rangeUnsatisfiable},
		{"bytes=5000-10000", 2000, byteRange{}, rangeUnsatisfiable},
		{"bytes=2000-", 2000, byteRange{}, rangeUnsatisfiable},
		{"bytes=-0", 2000, byteRange{}, rangeUnsatisfiable},
		{"bytes=0-", 0, byteRange{}, rangeUnsatisfiable},
		{"bytes=0-1,3-4", 10, byteRange{}, rangeNone},
		{"items=0-1", 10, byteRange{}, rangeNone},
		{"bytes=a-b", 10, byteRange{}, rangeNone},
		{"bytes=-", 10, byteRange{}, rangeNone},
		{"bytes=+1-2", 10, byteRange{}, rangeNone},
		{"bytes=99999999999999999999-", 10, byteRange{}, rangeNone},
	}
	for _, tc := range tests {
		br, res := parseRange(tc.h, tc.size)
		if res != tc.res || (res == rangeOK && br != tc.want) {
			t.Errorf("parseRange(%q, %d) = %v %v, want %v %v", tc.h, tc.size, br, res, tc.want, tc.res)
		}
	}
}

// FuzzParseRange checks the range reading against a second one: net/http's ServeContent.
// Where we serve a range, it must serve the same one; where it serves a single range of a
// well-formed single-range header, we must serve it too.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-0", "bytes=500-1499", "bytes=-500", "bytes=500-", "bytes=500-0",
		"bytes=5000-10000", "bytes=0-1,2-3", "bytes= 1-2", "bytes=-0", "items=1-2", "bytes=1-2 "} {
		f.Add(s, int64(2000))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 || size > 1<<20 {
			return
		}
		br, res := parseRange(h, size)
		if res == rangeOK && (br.start < 0 || br.start > br.end || br.end >= size) {
			t.Fatalf("parseRange(%q, %d) = %+v outside the body", h, size, br)
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Range", h)
		http.ServeContent(rec, req, "", time.Time{}, bytes.NewReader(make([]byte, size)))
		theirs := rec.Header().Get("Content-Range")
		if res == rangeOK {
			want := fmt.Sprintf("bytes %d-%d/%d", br.start, br.end, size)
			if rec.Code != http.StatusPartialContent || theirs != want {
				t.Fatalf("Range %q size %d: we serve %s, ServeContent %d %q", h, size, want, rec.Code, theirs)
			}
		}
		var ts, te, tsize int64
		_, _ = fmt.Sscanf(theirs, "bytes %d-%d/%d", &ts, &te, &tsize)
		// ServeContent answers "bytes=-0" with the empty, inverted range "N-(N-1)"; RFC 9110
		// calls a zero-length suffix unsatisfiable, which is what we say.
		if rec.Code == http.StatusPartialContent && theirs != "" && ts <= te && strictRangeRE.MatchString(h) {
			if res != rangeOK {
				t.Fatalf("Range %q size %d: ServeContent serves %q, we say %v", h, size, theirs, res)
			}
		}
	})
}

// strictRangeRE is the RFC 9110 single byte range; ServeContent also takes "+1" and
// spaces, which we do not.
var strictRangeRE = regexp.MustCompile(`^bytes=[0-9]*-[0-9]*$`)

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"0-0", "0-1023", "1024-2047", "bytes 0-9/10", "bytes 0-9/*", "bytes=0-9", "5-4", "-1", "x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		br, ok := parseContentRange(h)
		if !ok {
			return
		}
		if br.start < 0 || br.end < br.start {
			t.Fatalf("parseContentRange(%q) = %+v", h, br)
		}
		// Round trip through both written forms.
		for _, s := range []string{fmt.Sprintf("%d-%d", br.start, br.end), fmt.Sprintf("bytes %d-%d/*", br.start, br.end)} {
			again, ok := parseContentRange(s)
			if !ok || again != br {
				t.Fatalf("%q -> %+v -> %q -> %+v %v", h, br, s, again, ok)
			}
		}
	})
}
