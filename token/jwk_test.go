package token

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"testing"
)

// TestThumbprintRFC7638 checks the example of RFC 7638 section 3.1.
func TestThumbprintRFC7638(t *testing.T) {
	j := JWK{Kty: "RSA", E: "AQAB", N: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}
	pub, err := j.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Thumbprint(pub)
	if err != nil {
		t.Fatal(err)
	}
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Errorf("Thumbprint = %s, want %s (RFC 7638 3.1)", got, want)
	}
}

func TestJWKRoundTrip(t *testing.T) {
	ec256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ec521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	r, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, pub := range []any{&ec256.PublicKey, &ec384.PublicKey, &ec521.PublicKey, &r.PublicKey} {
		j, err := NewJWK(pub)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(j)
		var back JWK
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		got, err := back.PublicKey()
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !publicEqual(got, pub) {
			t.Errorf("%T: round trip gave another key", pub)
		}
	}
}

func TestJWKRefuses(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	good, _ := NewJWK(&ec.PublicKey)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	smallJWK, _ := NewJWK(&small.PublicKey)
	offCurve := good
	offCurve.Y = good.X
	padded := good
	padded.X = good.X + "="
	short := good
	short.X = good.X[:10]
	for name, j := range map[string]JWK{
		"oct (symmetric)":  {Kty: "oct"},
		"unknown curve":    {Kty: "EC", Crv: "secp256k1", X: good.X, Y: good.Y},
		"point off curve":  offCurve,
		"padded base64":    padded,
		"short coordinate": short,
		"RSA 1024":         smallJWK,
		"RSA even exp":     {Kty: "RSA", N: smallJWK.N, E: "Ag"},
	} {
		if _, err := j.PublicKey(); err == nil {
			t.Errorf("%s: PublicKey succeeded, want an error", name)
		}
	}
}
