package gateway

import "strings"

// maxNameLen caps repository names: the spec advises clients to keep host plus name under
// 255 bytes, and distribution rejects longer names.
const maxNameLen = 255

func isLowerAlnum(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') }

func isAlnum(c byte) bool { return isLowerAlnum(c) || (c >= 'A' && c <= 'Z') }

// validName reports whether s matches the distribution spec's repository name grammar
// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)* and is at most
// maxNameLen bytes. Hand-written rather than a regexp because it runs on every request;
// FuzzNameGrammar checks it against the regexp.
func validName(s string) bool {
	if s == "" || len(s) > maxNameLen {
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

// validTag matches [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}.
func validTag(s string) bool {
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

// validDigest matches the OCI digest grammar
// algorithm ":" encoded, algorithm [a-z0-9]+([+._-][a-z0-9]+)*, encoded [a-zA-Z0-9=_-]+,
// and for the registered algorithms the exact encoding: sha256 is 64 and sha512 128
// lowercase hex characters (OCI image-spec, descriptor.md).
func validDigest(s string) bool {
	alg, enc, ok := strings.Cut(s, ":")
	if !ok || alg == "" || enc == "" || len(s) > 256 {
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
	switch alg {
	case "sha256":
		return len(enc) == 64 && isLowerHex(enc)
	case "sha512":
		return len(enc) == 128 && isLowerHex(enc)
	}
	for i := 0; i < len(enc); i++ {
		c := enc[i]
		if !isAlnum(c) && c != '=' && c != '_' && c != '-' {
			return false
		}
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

// validUploadID accepts the upload ids registries hand out (UUIDs, base64url tokens):
// letters, digits, '-', '_' and '=', at most 128 bytes. No '.', so never a dot segment.
func validUploadID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '-' && c != '_' && c != '=' {
			return false
		}
	}
	return true
}

// pathByteOK reports whether c may appear in a /v2 path at all: the union of the name,
// tag, digest and upload id alphabets plus '/'. Anything else ('%', ';', '#', spaces,
// non-ASCII...) is a request some reader could decode differently, so it is refused.
func pathByteOK(c byte) bool {
	return isAlnum(c) || c == '/' || c == '.' || c == '_' || c == '-' || c == ':' || c == '=' || c == '+'
}
