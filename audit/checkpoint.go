package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/portcullis/portcullis/internal/atomicfile"
)

// The checkpoint key's files in the key directory (DATA/audit): the private key, readable
// by the gateway only, and the public key that verifies checkpoints.
const (
	KeyFile       = "checkpoint.key"
	PublicKeyFile = "checkpoint.pub"
)

// Signer signs checkpoints with an Ed25519 key.
type Signer struct {
	priv ed25519.PrivateKey
	id   string
}

// LoadSigner reads the checkpoint key from dir, creating the key pair (and dir, 0700) on
// first use. The private key is 0600; keep dir off the volume the log is shipped from, so
// whoever can rewrite the log cannot also sign.
func LoadSigner(dir string) (*Signer, error) {
	file := filepath.Join(dir, KeyFile)
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return createSigner(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	blk, _ := pem.Decode(data)
	if blk == nil {
		return nil, fmt.Errorf("audit key %s: no PEM block", file)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit key %s: %w", file, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("audit key %s: %T is not an Ed25519 key", file, k)
	}
	return &Signer{priv: priv, id: KeyID(priv.Public().(ed25519.PublicKey))}, nil
}

// createSigner makes the key pair. Replicas sharing the directory may race to: the
// private key is linked into place, which fails when another got there first, and then
// theirs is loaded, so every replica signs with the key on disk.
func createSigner(dir string) (*Signer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, "."+KeyFile+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	if err := os.Link(tmp.Name(), filepath.Join(dir, KeyFile)); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	syncDir(dir)
	s, err := LoadSigner(dir) // ours, or the one that was there first
	if err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(s.Public())
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, PublicKeyFile),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		return nil, err
	}
	return s, nil
}

// Public returns the public key.
func (s *Signer) Public() ed25519.PublicKey { return s.priv.Public().(ed25519.PublicKey) }

// KeyID names a public key in checkpoint lines: the first 8 bytes of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// LoadPublicKey reads the key that verifies checkpoints: a PUBLIC KEY PEM file
// (checkpoint.pub), or the private key file, whose public half is used.
func LoadPublicKey(file string) (ed25519.PublicKey, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(data)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM block", file)
	}
	var k any
	switch blk.Type {
	case "PUBLIC KEY":
		k, err = x509.ParsePKIXPublicKey(blk.Bytes)
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		if priv, ok := k.(ed25519.PrivateKey); ok {
			k = priv.Public()
		}
	default:
		return nil, fmt.Errorf("%s: PEM block %q is not a key", file, blk.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s: %T is not an Ed25519 key", file, k)
	}
	return pub, nil
}

// checkpointBody is a checkpoint's fields before the chain's and the signature.
type checkpointBody struct {
	Time   time.Time `json:"time"`
	Kind   Kind      `json:"kind"`
	Reason string    `json:"reason"`
	Every  int       `json:"every,omitempty"`
	// Dropped: see Checkpoint.Dropped.
	Dropped uint64 `json:"dropped,omitempty"`
	Key     string `json:"key"`
}

// checkpointLine builds a signed checkpoint line after h: the chain line of the body,
// then the signature over that line (without newline) added as a last "sig" field.
// Because prev is in what is signed, the signature covers the whole chain before it.
func (s *Signer) checkpointLine(h Head, now time.Time, reason string, every int, dropped uint64) ([]byte, Head) {
	body, _ := json.Marshal(checkpointBody{Time: now.UTC(), Kind: KindCheckpoint, Reason: reason,
		Every: every, Dropped: dropped, Key: s.id})
	unsigned, _ := h.line(body)
	unsigned = unsigned[:len(unsigned)-1] // the newline
	sig := ed25519.Sign(s.priv, unsigned)
	b := make([]byte, 0, len(unsigned)+100)
	b = append(b, unsigned[:len(unsigned)-1]...) // without the closing brace
	b = append(b, `,"sig":"`...)
	b = base64.StdEncoding.AppendEncode(b, sig)
	b = append(b, `"}`...)
	next := Head{Seq: h.Seq + 1, Hash: sha256.Sum256(b)}
	return append(b, '\n'), next
}

// sigField is how the signature is appended to a checkpoint line.
var sigField = []byte(`,"sig":"`)

// verifyCheckpoint checks a checkpoint line's (without newline) signature with pub.
func verifyCheckpoint(pub ed25519.PublicKey, b []byte) error {
	i := bytes.LastIndex(b, sigField)
	if i < 0 || !bytes.HasSuffix(b, []byte(`"}`)) {
		return errors.New("no signature")
	}
	sig, err := base64.StdEncoding.DecodeString(string(b[i+len(sigField) : len(b)-2]))
	if err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	unsigned := append(append([]byte(nil), b[:i]...), '}')
	if !ed25519.Verify(pub, unsigned, sig) {
		return errors.New("signature does not match")
	}
	return nil
}
