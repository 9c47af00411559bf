package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// JWK is a public JSON Web Key (RFC 7517) of the two kinds JWS signatures here use: EC
// (P-256, P-384, P-521) and RSA. Symmetric ("oct") keys are never read: a JWKS is a
// list of public keys, and a shared secret in one would allow the HMAC algorithm
// confusion the verifier refuses.
type JWK struct {
	Kty string `json:"kty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	Kid string `json:"kid,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	// X5c is the key's certificate chain, leaf first, standard base64 DER (RFC 7517 4.7).
	X5c []string `json:"x5c,omitempty"`
}

// JWKS is a JSON Web Key Set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

var b64 = base64.RawURLEncoding

// NewJWK encodes a public key; kid, alg, use and x5c are the caller's to fill.
func NewJWK(pub crypto.PublicKey) (JWK, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		size, crv, err := curveOf(k.Curve)
		if err != nil {
			return JWK{}, err
		}
		raw, err := k.Bytes() // 0x04 || X || Y, each coordinate padded to the curve size
		if err != nil {
			return JWK{}, fmt.Errorf("encoding EC key: %w", err)
		}
		return JWK{Kty: "EC", Crv: crv, X: b64.EncodeToString(raw[1 : 1+size]), Y: b64.EncodeToString(raw[1+size:])}, nil
	case *rsa.PublicKey:
		return JWK{Kty: "RSA", N: b64.EncodeToString(k.N.Bytes()), E: b64.EncodeToString(big.NewInt(int64(k.E)).Bytes())}, nil
	default:
		return JWK{}, fmt.Errorf("unsupported public key type %T", pub)
	}
}

func curveOf(c elliptic.Curve) (size int, name string, err error) {
	switch c {
	case elliptic.P256():
		return 32, "P-256", nil
	case elliptic.P384():
		return 48, "P-384", nil
	case elliptic.P521():
		return 66, "P-521", nil
	}
	return 0, "", errors.New("unsupported elliptic curve")
}

// PublicKey decodes the key. It checks what a careless decoder would not: the point is on
// the curve (ParseUncompressedPublicKey), coordinates have the curve's exact length, and
// an RSA key has an odd public exponent and a modulus of at least 2048 bits.
func (j JWK) PublicKey() (crypto.PublicKey, error) {
	switch j.Kty {
	case "EC":
		var c elliptic.Curve
		switch j.Crv {
		case "P-256":
			c = elliptic.P256()
		case "P-384":
			c = elliptic.P384()
		case "P-521":
			c = elliptic.P521()
		default:
			return nil, fmt.Errorf("EC key: unsupported curve %q", j.Crv)
		}
		size, _, _ := curveOf(c)
		x, errX := b64.Strict().DecodeString(j.X)
		y, errY := b64.Strict().DecodeString(j.Y)
		if errX != nil || errY != nil || len(x) != size || len(y) != size {
			return nil, errors.New("EC key: malformed coordinates")
		}
		pt := append(append([]byte{4}, x...), y...)
		k, err := ecdsa.ParseUncompressedPublicKey(c, pt)
		if err != nil {
			return nil, fmt.Errorf("EC key: %w", err)
		}
		return k, nil
	case "RSA":
		n, errN := b64.Strict().DecodeString(j.N)
		e, errE := b64.Strict().DecodeString(j.E)
		if errN != nil || errE != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 || n[0] == 0 {
			return nil, errors.New("RSA key: malformed modulus or exponent")
		}
		k := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if k.N.BitLen() < 2048 || k.E < 3 || k.E%2 == 0 {
			return nil, errors.New("RSA key: modulus under 2048 bits or bad exponent")
		}
		return k, nil
	default:
		return nil, fmt.Errorf("unsupported key type %q", j.Kty)
	}
}

// Thumbprint is the RFC 7638 JWK thumbprint of pub (SHA-256, base64url): the key id of
// every key this package signs with. distribution v3 looks up a token's kid among the
// thumbprints of the keys it trusts (distribution#4299, #4470); v2.8 reads the x5c chain
// first and ignores the kid when one is there.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	j, err := NewJWK(pub)
	if err != nil {
		return "", err
	}
	// The required members only, in lexicographic order, no whitespace (RFC 7638 3.2):
	// json.Marshal of a struct keeps field order and escapes nothing base64url contains.
	var canonical []byte
	switch j.Kty {
	case "EC":
		canonical, err = json.Marshal(struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
			Y   string `json:"y"`
		}{j.Crv, j.Kty, j.X, j.Y})
	default:
		canonical, err = json.Marshal(struct {
			E   string `json:"e"`
			Kty string `json:"kty"`
			N   string `json:"n"`
		}{j.E, j.Kty, j.N})
	}
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(canonical)
	return b64.EncodeToString(sum[:]), nil
}
