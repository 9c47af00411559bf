package gateway

func isAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// pathByteOK reports whether c may appear in a /v2 path at all: the union of the name,
// tag, digest and upload id alphabets plus '/'. Anything else ('%', ';', '#', spaces,
// non-ASCII...) is a request some reader could decode differently, so it is refused.
func pathByteOK(c byte) bool {
	return isAlnum(c) || c == '/' || c == '.' || c == '_' || c == '-' || c == ':' || c == '=' || c == '+'
}
