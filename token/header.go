package token

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// MaxTokenSize bounds the tokens read: a larger one is refused before any decoding
// (issue 10, item 9). Ours are about 400 bytes, 1.1 KiB with their x5c certificate.
const MaxTokenSize = 8 << 10

// peek is what a compact JWS says of itself before anything is verified: enough to choose
// the keys to verify it with, and to name the account a refused token claimed.
type peek struct {
	Alg, Kid, Typ string
	Issuer        string
	Subject       string
}

var (
	errTooLarge  = errors.New("token larger than 8 KiB")
	errMalformed = errors.New("malformed token")
	errUnsigned  = errors.New("unsigned token (alg none) refused")
)

var rawURL = base64.RawURLEncoding.Strict()

// readToken splits a compact JWS (RFC 7515 7.1) into its three base64url segments and
// reads the header's alg, kid and typ and the payload's iss and sub, verifying nothing.
// It is strict where a lenient reader would let two readers see two tokens: unpadded
// canonical base64url only, JSON objects only, string members only where strings are
// expected, and no "crit" header (RFC 7515 4.1.11: extensions we do not understand must
// be refused). Members are matched by exact name, as the verifier matches them.
func readToken(raw string) (peek, error) {
	if len(raw) > MaxTokenSize {
		return peek{}, errTooLarge
	}
	h64, rest, ok1 := strings.Cut(raw, ".")
	p64, s64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s64, ".") || h64 == "" || p64 == "" {
		return peek{}, fmt.Errorf("%w: want three dot-separated segments", errMalformed)
	}
	hdr, err := segment(h64)
	if err != nil {
		return peek{}, fmt.Errorf("%w: header: %w", errMalformed, err)
	}
	if _, crit := hdr["crit"]; crit {
		return peek{}, fmt.Errorf("%w: header has crit extensions", errMalformed)
	}
	var p peek
	if p.Alg, err = member(hdr, "alg", true); err != nil {
		return peek{}, err
	}
	if p.Alg == "none" || s64 == "" {
		return peek{}, errUnsigned
	}
	if _, err := rawURL.DecodeString(s64); err != nil {
		return peek{}, fmt.Errorf("%w: signature is not base64url", errMalformed)
	}
	if p.Kid, err = member(hdr, "kid", false); err != nil {
		return peek{}, err
	}
	if p.Typ, err = member(hdr, "typ", false); err != nil {
		return peek{}, err
	}
	body, err := segment(p64)
	if err != nil {
		return peek{}, fmt.Errorf("%w: payload: %w", errMalformed, err)
	}
	if p.Issuer, err = member(body, "iss", false); err != nil {
		return peek{}, err
	}
	if p.Subject, err = member(body, "sub", false); err != nil {
		return peek{}, err
	}
	return p, nil
}

// segment decodes one base64url segment holding a JSON object.
func segment(s string) (map[string]json.RawMessage, error) {
	b, err := rawURL.DecodeString(s)
	if err != nil {
		return nil, errors.New("not base64url")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return nil, errors.New("not a JSON object")
	}
	return m, nil
}

// member reads a string member; absent is "" unless required.
func member(m map[string]json.RawMessage, name string, required bool) (string, error) {
	v, ok := m[name]
	if !ok {
		if required {
			return "", fmt.Errorf("%w: no %q", errMalformed, name)
		}
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("%w: %q is not a string", errMalformed, name)
	}
	return s, nil
}
