package registry

import (
	"strconv"
	"strings"
)

// byteRange is an inclusive range [start, end] of a body.
type byteRange struct{ start, end int64 }

// rangeResult says how a Range header applies to a body of a given size.
type rangeResult int

const (
	rangeNone          rangeResult = iota // no usable Range: serve the whole body
	rangeOK                               // serve the returned range with 206
	rangeUnsatisfiable                    // 416
)

// parseRange reads an RFC 9110 Range header of a single byte range ("bytes=a-b",
// "bytes=a-", "bytes=-n") against a body of size bytes. A header that is not a single
// byte range (another unit, several ranges, garbage) is ignored, as RFC 9110 allows, and
// the whole body is served. A well-formed range that selects nothing (start past the end,
// end before start, a zero suffix) is unsatisfiable. The end is clamped to the body.
func parseRange(h string, size int64) (byteRange, rangeResult) {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return byteRange{}, rangeNone
	}
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return byteRange{}, rangeNone
	}
	if first == "" { // suffix range: the last n bytes
		n, ok := parseDecimal(last)
		if !ok {
			return byteRange{}, rangeNone
		}
		if n == 0 || size == 0 {
			return byteRange{}, rangeUnsatisfiable
		}
		n = min(n, size)
		return byteRange{size - n, size - 1}, rangeOK
	}
	start, ok := parseDecimal(first)
	if !ok {
		return byteRange{}, rangeNone
	}
	end := size - 1
	if last != "" {
		if end, ok = parseDecimal(last); !ok {
			return byteRange{}, rangeNone
		}
		if end < start {
			return byteRange{}, rangeUnsatisfiable
		}
		end = min(end, size-1)
	}
	if start >= size {
		return byteRange{}, rangeUnsatisfiable
	}
	return byteRange{start, end}, rangeOK
}

// parseContentRange reads the Content-Range of an upload chunk. The distribution spec
// uses the bare form "<start>-<end>" (inclusive); the RFC form "bytes <start>-<end>/<size
// or *>" is accepted too. ok is false when the header is malformed.
func parseContentRange(h string) (br byteRange, ok bool) {
	s := strings.TrimSpace(h)
	if rest, found := strings.CutPrefix(s, "bytes "); found {
		s, _, _ = strings.Cut(rest, "/")
	} else if rest, found := strings.CutPrefix(s, "bytes="); found {
		s = rest
	}
	a, b, found := strings.Cut(s, "-")
	if !found {
		return byteRange{}, false
	}
	start, ok1 := parseDecimal(a)
	end, ok2 := parseDecimal(b)
	if !ok1 || !ok2 || end < start {
		return byteRange{}, false
	}
	return byteRange{start, end}, true
}

// parseDecimal reads a non-negative decimal that fits an int64; signs and spaces are not
// allowed.
func parseDecimal(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
