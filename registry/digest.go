package registry

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"strings"
)

// algorithm is a digest algorithm the registry can verify.
type algorithm string

const (
	sha256Alg algorithm = "sha256"
	sha512Alg algorithm = "sha512"
)

// algorithms is every supported algorithm.
var algorithms = []algorithm{sha256Alg, sha512Alg}

// streamAlgorithms are hashed while an upload session streams in. A session learns its
// digest only at the final PUT; nearly every client uses sha256, so hashing sha512 too
// would cost every push a second hash (a third of the upload's CPU) for the rare sha512
// push, which instead re-reads its data once at the end (upload.rehash).
var streamAlgorithms = []algorithm{sha256Alg}

func (a algorithm) hexLen() int {
	switch a {
	case sha256Alg:
		return 64
	case sha512Alg:
		return 128
	}
	return 0
}

func (a algorithm) new() hash.Hash {
	if a == sha512Alg {
		return sha512.New()
	}
	return sha256.New()
}

// digest is a verified-shape digest "alg:hex" of a supported algorithm.
type digest struct {
	alg algorithm
	hex string
}

func (d digest) String() string { return string(d.alg) + ":" + d.hex }

// parseDigest reads s as a digest of a supported algorithm: "sha256:" followed by 64, or
// "sha512:" followed by 128, lowercase hex characters (OCI image-spec "Registered
// algorithms"). Anything else, including other algorithms the grammar allows, is an error.
func parseDigest(s string) (digest, bool) {
	algStr, hx, ok := strings.Cut(s, ":")
	if !ok {
		return digest{}, false
	}
	alg := algorithm(algStr)
	n := alg.hexLen()
	if n == 0 || len(hx) != n || !isLowerHex(hx) {
		return digest{}, false
	}
	return digest{alg: alg, hex: hx}, true
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// digestOf returns the digest of b under alg.
func digestOf(alg algorithm, b []byte) digest {
	h := alg.new()
	h.Write(b)
	return digest{alg: alg, hex: hex.EncodeToString(h.Sum(nil))}
}

// sumDigest reads the digest from a running hash.
func sumDigest(alg algorithm, h hash.Hash) digest {
	return digest{alg: alg, hex: hex.EncodeToString(h.Sum(nil))}
}
