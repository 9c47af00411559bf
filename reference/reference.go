// Package reference owns the OCI distribution spec's grammar for the parts of a registry
// path: repository names, tags and digests. The gateway, which judges requests, and the
// bundled registry, which serves them, both read names through it, so the two can never
// disagree on what a name is. It depends on the standard library only.
package reference

import "strings"

// MaxNameLen caps repository names: the spec advises clients to keep host plus name under
// 255 bytes, and distribution rejects longer names.
const MaxNameLen = 255

func isLowerAlnum(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') }

func isAlnum(c byte) bool { return isLowerAlnum(c) || (c >= 'A' && c <= 'Z') }

// ValidName reports whether s matches the spec's repository name grammar
// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)* and is at most
// MaxNameLen bytes. Hand-written rather than a regexp because it runs on every request;
// FuzzGrammar checks it against the regexp.
func ValidName(s string) bool {
	if s == "" || len(s) > MaxNameLen {
		return false
	}
	for comp := range strings.SplitSeq(s, "/") {
		if !validComponent(comp) {
			return false
		}
	}
	return true
}

// validComponent matches [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*.
func validComponent(s string) bool {
	i := 0
	for {
		start := i
		for i < len(s) && isLowerAlnum(s[i]) {
			i++
		}
		if i == start {
			return false
		}
		if i == len(s) {
			return true
		}
		switch s[i] {
		case '.':
			i++
		case '_':
			i++
			if i < len(s) && s[i] == '_' {
				i++
			}
		case '-':
			for i < len(s) && s[i] == '-' {
				i++
			}
		default:
			return false
		}
	}
}

// ValidTag matches [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}.
func ValidTag(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '_' && (i == 0 || (c != '.' && c != '-')) {
			return false
		}
	}
	return true
}

// ValidUploadID matches the upload session ids registries hand out (UUIDs, base64url
// tokens): [A-Za-z0-9_=-]{1,128}. No '.', so an id is never a dot segment.
func ValidUploadID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '=' {
			return false
		}
	}
	return true
}

// ValidDigestGrammar matches the spec's digest grammar: algorithm ":" encoded, with
// algorithm [a-z0-9]+([+._-][a-z0-9]+)* and encoded [a-zA-Z0-9=_-]+. It says nothing of
// whether the algorithm is one a registry supports.
func ValidDigestGrammar(s string) bool {
	alg, enc, ok := strings.Cut(s, ":")
	if !ok || alg == "" || enc == "" {
		return false
	}
	sep := true // at the start, as after a separator
	for i := 0; i < len(alg); i++ {
		c := alg[i]
		switch {
		case isLowerAlnum(c):
			sep = false
		case c == '+' || c == '.' || c == '_' || c == '-':
			if sep {
				return false
			}
			sep = true
		default:
			return false
		}
	}
	if sep {
		return false
	}
	for i := 0; i < len(enc); i++ {
		c := enc[i]
		if !isAlnum(c) && c != '=' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// ValidDigest is ValidDigestGrammar, at most 256 bytes, and for the registered algorithms
// the exact encoding: sha256 is 64 and sha512 128 lowercase hex characters (OCI
// image-spec, descriptor.md).
func ValidDigest(s string) bool {
	if len(s) > 256 || !ValidDigestGrammar(s) {
		return false
	}
	alg, enc, _ := strings.Cut(s, ":")
	switch alg {
	case "sha256":
		return len(enc) == 64 && isLowerHex(enc)
	case "sha512":
		return len(enc) == 128 && isLowerHex(enc)
	}
	return true
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
