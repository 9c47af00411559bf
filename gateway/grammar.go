package gateway

func isLowerAlnum(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') }

func isAlnum(c byte) bool { return isLowerAlnum(c) || (c >= 'A' && c <= 'Z') }

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
