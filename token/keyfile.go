package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/portcullis/portcullis/certs"
)

// Signing algorithms. ES256 is the default: small keys and signatures, fast to sign,
// accepted by every registry (distribution verifies it since 2.0). RS256 is there for
// verifiers that take nothing else.
const (
	ES256 = "ES256"
	RS256 = "RS256"
)

// Files in the token directory (DATA/token).
const (
	keysFileName = "keys.json" // the signing keys, 0600
	caCertName   = "ca.crt"    // the token CA, for registries' rootcertbundle
	caKeyName    = "ca.key"    // its key, 0600
)

// keysFile is keys.json: every signing key, the current one without a retirement time.
// One file, replaced atomically, so a reader never sees a new key without the old one
// being marked retired.
type keysFile struct {
	Keys []keyEntry `json:"keys"`
}

type keyEntry struct {
	Alg     string     `json:"alg"`
	Created time.Time  `json:"created"`
	Retired *time.Time `json:"retired,omitempty"`
	// PrivateKey is PKCS#8 PEM.
	PrivateKey string `json:"private_key"`
}

// parseKeysFile reads keys.json: every key must parse, match its algorithm, and exactly
// one must be current (not retired).
func parseKeysFile(data []byte) ([]keyEntry, []crypto.Signer, error) {
	var f keysFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", keysFileName, err)
	}
	current := 0
	signers := make([]crypto.Signer, len(f.Keys))
	for i, e := range f.Keys {
		s, err := certs.ParsePrivateKey([]byte(e.PrivateKey))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: key %d: %w", keysFileName, i, err)
		}
		alg, err := algOf(s)
		if err != nil || alg != e.Alg {
			return nil, nil, fmt.Errorf("%s: key %d: algorithm %q does not fit the key (%v)", keysFileName, i, e.Alg, err)
		}
		if e.Retired == nil {
			current++
		}
		signers[i] = s
	}
	if current != 1 {
		return nil, nil, fmt.Errorf("%s: %d current keys, want exactly one (without \"retired\")", keysFileName, current)
	}
	return f.Keys, signers, nil
}

func marshalKeysFile(entries []keyEntry) ([]byte, error) {
	b, err := json.MarshalIndent(keysFile{Keys: entries}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// newKeyEntry generates a key for alg.
func newKeyEntry(alg string, now time.Time) (keyEntry, error) {
	var s crypto.Signer
	var err error
	switch alg {
	case ES256:
		s, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RS256:
		s, err = rsa.GenerateKey(rand.Reader, 3072)
	default:
		return keyEntry{}, fmt.Errorf("token signing algorithm %q: use %s or %s", alg, ES256, RS256)
	}
	if err != nil {
		return keyEntry{}, fmt.Errorf("generating %s key: %w", alg, err)
	}
	p, err := certs.MarshalPrivateKey(s)
	if err != nil {
		return keyEntry{}, err
	}
	return keyEntry{Alg: alg, Created: now.UTC(), PrivateKey: string(p)}, nil
}

// algOf is the JWS algorithm a key signs with: ES256 for P-256, RS256 for RSA of 2048
// bits or more. Anything else is refused rather than guessed.
func algOf(s crypto.Signer) (string, error) {
	switch k := s.Public().(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return ES256, nil
		}
		return "", errors.New("EC keys must be P-256 (ES256)")
	case *rsa.PublicKey:
		if k.N.BitLen() >= 2048 {
			return RS256, nil
		}
		return "", errors.New("RSA keys must have at least 2048 bits")
	}
	return "", fmt.Errorf("%T keys are not supported: use ECDSA P-256 or RSA", s.Public())
}

// CheckKeyFile reads a --token-key file as OpenKeys would, without using it: for
// `gateway check`.
func CheckKeyFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s, err := certs.ParsePrivateKey(data)
	if err != nil {
		return err
	}
	_, err = algOf(s)
	return err
}
