package token

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/portcullis/portcullis/certs"
	"github.com/portcullis/portcullis/internal/atomicfile"
	"github.com/portcullis/portcullis/internal/reload"
)

// Leeway is the clock skew allowed when checking a token's exp and nbf (issue 10: 30 s).
const Leeway = 30 * time.Second

// reloadGrace bounds how long a gateway may go on signing with a key after `gateway token
// rotate` retired it on disk: the time its file watch takes to notice (reload.DefaultPoll
// is 10 s).
// A retired key is kept for the longest token life plus Leeway plus this.
const reloadGrace = time.Minute

// KeysOptions configure OpenKeys.
type KeysOptions struct {
	// Dir is the token directory (DATA/token): keys.json with the signing keys, and the
	// token CA (ca.crt, ca.key) that certifies them. Created (0700) when missing, with a
	// first key and the CA.
	Dir string
	// KeyFile, when set, is one signing key managed outside (--token-key): a PEM private key,
	// optionally followed by its certificate chain (leaf first) for x5c; without one the
	// token CA in Dir certifies it. keys.json is then not used, and rotation is replacing
	// the file: the previous key keeps verifying for Lifetime.
	KeyFile string
	// Alg is the algorithm of a key generated here: ES256 (default) or RS256.
	Alg string
	// Lifetime is the longest a token lives (the larger of the access and refresh token
	// lifetimes): a retired key verifies, and stays in the JWKS, for this long after it
	// stopped signing (plus Leeway and a minute for other processes to notice).
	Lifetime time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger receives reloads and their failures; nil discards them.
	Logger *slog.Logger
}

// signingKey is one key and everything a token needs of it, computed once per load.
type signingKey struct {
	kid    string
	alg    string
	method jwt.SigningMethod
	signer crypto.Signer
	public crypto.PublicKey
	x5c    []string
	jwk    JWK
	// bind is the secret that binds refresh tokens signed with this key to a password
	// entry (see binding): derived from the private key, so it needs no file of its own
	// and is as secret as the key.
	bind []byte
	// retired is when the key stopped signing; zero for the current key.
	retired time.Time
}

// keySet is one complete load of the keys; never changed once published.
type keySet struct {
	current *signingKey
	keys    []*signingKey // the current key first
	byKID   map[string]*signingKey
}

// Keys holds the signing keys in force and reloads them when their file changes (after
// `gateway token rotate`, or a new --token-key file), through internal/reload: a key set
// that does not load leaves the last good one in force. It is safe for concurrent use;
// readers never wait for a reload. It is a server.Reloader (Name, Run, Reload).
type Keys struct {
	opts KeysOptions
	log  *slog.Logger
	file *reload.Value[keySet]
}

// OpenKeys loads the signing keys, creating the token directory, the CA and a first key
// (0600) on first start.
func OpenKeys(opts KeysOptions) (*Keys, error) {
	if opts.Dir == "" {
		return nil, errors.New("token: KeysOptions.Dir is required (it holds the token CA)")
	}
	if opts.Alg == "" {
		opts.Alg = ES256
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	k := &Keys{opts: opts, log: orDiscard(opts.Logger)}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("token directory: %w", err)
	}
	if opts.KeyFile == "" {
		created, err := ensureKeysFile(opts.Dir, opts.Alg, opts.Now())
		if err != nil {
			return nil, err
		}
		if created {
			k.log.Info("created a token signing key", "file", filepath.Join(opts.Dir, keysFileName), "alg", opts.Alg)
		}
	}
	path := filepath.Join(opts.Dir, keysFileName)
	if opts.KeyFile != "" {
		path = opts.KeyFile
	}
	var err error
	k.file, err = reload.New(context.Background(), reload.Config[keySet]{
		Name: "token keys", Paths: []string{path}, Parse: k.parse, Loaded: k.loaded, Logger: k.log,
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// ensureKeysFile writes keys.json with one new key when it does not exist.
func ensureKeysFile(dir, alg string, now time.Time) (bool, error) {
	file := filepath.Join(dir, keysFileName)
	if _, err := os.Stat(file); err == nil {
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("token keys: %w", err)
	}
	e, err := newKeyEntry(alg, now)
	if err != nil {
		return false, err
	}
	data, err := marshalKeysFile([]keyEntry{e})
	if err != nil {
		return false, err
	}
	return true, atomicfile.WriteFile(file, data, 0o600)
}

// CAFile is the token CA certificate: what a registry trusts as its rootcertbundle.
func (k *Keys) CAFile() string { return filepath.Join(k.opts.Dir, caCertName) }

// Name is "token keys", for reload log lines.
func (k *Keys) Name() string { return k.file.Name() }

// Reload reads the key file now (SIGHUP). On failure the keys in force stay; the reason is
// logged and returned.
func (k *Keys) Reload(ctx context.Context) error { return k.file.Reload(ctx) }

// Run watches the key file until ctx ends and reloads it when its content changes.
func (k *Keys) Run(ctx context.Context) { k.file.Run(ctx) }

// parse builds a key set from the file and carries over the keys the set in force still
// needs. Parses never overlap, so the set in force is the one this replaces.
func (k *Keys) parse(_ context.Context, files []reload.File) (*keySet, error) {
	now := k.opts.Now()
	set, err := k.build(files[0].Data, now)
	if err != nil {
		return nil, err
	}
	if k.file != nil { // nil during OpenKeys's first load
		set.carry(k.file.Load(), now, k.live)
	}
	return set, nil
}

func (k *Keys) loaded(old, cur *keySet) {
	if old != nil && old.current.kid != cur.current.kid {
		k.log.Info("token signing key changed", "kid", cur.current.kid, "previous", old.current.kid)
	}
}

// build makes a key set from keys.json (or the key file).
func (k *Keys) build(data []byte, now time.Time) (*keySet, error) {
	var ca *certs.CA
	certify := func(s crypto.Signer, _ string) ([]*x509.Certificate, error) {
		if ca == nil {
			var err error
			ca, _, err = certs.OpenCA(k.CAFile(), filepath.Join(k.opts.Dir, caKeyName), "Portcullis token CA", now)
			if err != nil {
				return nil, fmt.Errorf("token CA: %w", err)
			}
		}
		// No subject: the certificate rides in every token's header, and the key is named
		// by its kid already; each byte saved is one fewer on every request.
		c, err := ca.CertifyKey(s.Public(), "", now)
		if err != nil {
			return nil, err
		}
		return []*x509.Certificate{c}, nil
	}
	set := &keySet{byKID: map[string]*signingKey{}}
	if k.opts.KeyFile != "" {
		s, err := certs.ParsePrivateKey(data)
		if err != nil {
			return nil, fmt.Errorf("token key %s: %w", k.opts.KeyFile, err)
		}
		chain, err := certs.ParseCertificates(data)
		if err != nil {
			return nil, fmt.Errorf("token key %s: %w", k.opts.KeyFile, err)
		}
		if len(chain) > 0 && !publicEqual(chain[0].PublicKey, s.Public()) {
			return nil, fmt.Errorf("token key %s: the first certificate is not for the key", k.opts.KeyFile)
		}
		sk, err := newSigningKey(s, chain, time.Time{}, certify)
		if err != nil {
			return nil, fmt.Errorf("token key %s: %w", k.opts.KeyFile, err)
		}
		set.add(sk)
		return set, nil
	}
	entries, signers, err := parseKeysFile(data)
	if err != nil {
		return nil, err
	}
	for i, e := range entries {
		var retired time.Time
		if e.Retired != nil {
			retired = *e.Retired
			if !k.live(retired, now) {
				continue // past its last token's expiry: gone from the JWKS too
			}
		}
		sk, err := newSigningKey(signers[i], nil, retired, certify)
		if err != nil {
			return nil, fmt.Errorf("%s: key %d: %w", keysFileName, i, err)
		}
		set.add(sk)
	}
	return set, nil
}

// live reports whether a key retired at retired may still have signed tokens that have
// not expired; the current key (zero time) always is.
func (k *Keys) live(retired, now time.Time) bool {
	return retired.IsZero() || now.Before(retired.Add(k.opts.Lifetime+Leeway+reloadGrace))
}

func newSigningKey(s crypto.Signer, chain []*x509.Certificate, retired time.Time,
	certify func(crypto.Signer, string) ([]*x509.Certificate, error)) (*signingKey, error) {
	alg, err := algOf(s)
	if err != nil {
		return nil, err
	}
	kid, err := Thumbprint(s.Public())
	if err != nil {
		return nil, err
	}
	if len(chain) == 0 {
		if chain, err = certify(s, kid); err != nil {
			return nil, err
		}
	}
	der, err := x509.MarshalPKCS8PrivateKey(s)
	if err != nil {
		return nil, err
	}
	bind := sha256.Sum256(append([]byte("portcullis refresh binding v1\x00"), der...))
	sk := &signingKey{kid: kid, alg: alg, method: jwt.GetSigningMethod(alg), signer: s, public: s.Public(),
		bind: bind[:], retired: retired}
	for _, c := range chain {
		sk.x5c = append(sk.x5c, base64.StdEncoding.EncodeToString(c.Raw))
	}
	if sk.jwk, err = NewJWK(sk.public); err != nil {
		return nil, err
	}
	sk.jwk.Kid, sk.jwk.Alg, sk.jwk.Use, sk.jwk.X5c = kid, alg, "sig", sk.x5c
	return sk, nil
}

func (s *keySet) add(k *signingKey) {
	if _, dup := s.byKID[k.kid]; dup {
		return
	}
	if k.retired.IsZero() {
		s.current = k
		s.keys = append([]*signingKey{k}, s.keys...)
	} else {
		s.keys = append(s.keys, k)
	}
	s.byKID[k.kid] = k
}

// carry keeps what the previous set knew and the files no longer say. A key that was
// signing here until now is retired from now at the earliest (tokens this process signed
// with it live from now on), whatever time the file gives; a key that vanished from the
// files (a replaced --token-key) keeps verifying until its tokens have expired.
func (s *keySet) carry(old *keySet, now time.Time, live func(retired, now time.Time) bool) {
	if old == nil {
		return
	}
	for _, ok := range old.keys {
		nk, present := s.byKID[ok.kid]
		switch {
		case present && ok.retired.IsZero() && !nk.retired.IsZero() && nk.retired.Before(now):
			c := *nk
			c.retired = now
			s.replace(&c)
		case !present:
			c := *ok
			if c.retired.IsZero() {
				c.retired = now
			}
			if live(c.retired, now) {
				s.add(&c)
			}
		}
	}
}

func (s *keySet) replace(k *signingKey) {
	for i, x := range s.keys {
		if x.kid == k.kid {
			s.keys[i] = k
		}
	}
	s.byKID[k.kid] = k
}

// signing is the key new tokens are signed with.
func (k *Keys) signing() *signingKey { return k.file.Load().current }

// lookup finds a key that may verify a token now.
func (k *Keys) lookup(kid string) *signingKey {
	sk := k.file.Load().byKID[kid]
	if sk == nil || !k.live(sk.retired, k.opts.Now()) {
		return nil
	}
	return sk
}

// JWKS is every key that may verify a token now: the current one and retired ones whose
// tokens may not have expired yet, each with its kid, alg and x5c.
func (k *Keys) JWKS() JWKS {
	now := k.opts.Now()
	out := JWKS{Keys: []JWK{}}
	for _, sk := range k.file.Load().keys {
		if k.live(sk.retired, now) {
			out.Keys = append(out.Keys, sk.jwk)
		}
	}
	return out
}

// CurrentKID is the key id new tokens are signed with.
func (k *Keys) CurrentKID() string { return k.signing().kid }

// Rotate makes a new signing key in dir's keys.json (the first key, when there is none),
// retires the current one as of now, and drops keys whose tokens have all expired
// (lifetime as in KeysOptions). A running gateway picks the file up through its watch or
// on SIGHUP. It returns the new key's id.
func Rotate(dir, alg string, lifetime time.Duration, now time.Time) (kid string, dropped int, err error) {
	if alg == "" {
		alg = ES256
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", 0, fmt.Errorf("token directory: %w", err)
	}
	file := filepath.Join(dir, keysFileName)
	var entries []keyEntry
	data, err := os.ReadFile(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return "", 0, fmt.Errorf("token keys: %w", err)
	default:
		if entries, _, err = parseKeysFile(data); err != nil {
			return "", 0, err
		}
	}
	probe := &Keys{opts: KeysOptions{Lifetime: lifetime}}
	kept := entries[:0]
	for _, e := range entries {
		if e.Retired == nil {
			t := now.UTC()
			e.Retired = &t
		}
		if probe.live(*e.Retired, now) {
			kept = append(kept, e)
		} else {
			dropped++
		}
	}
	e, err := newKeyEntry(alg, now)
	if err != nil {
		return "", 0, err
	}
	kept = append(kept, e)
	out, err := marshalKeysFile(kept)
	if err != nil {
		return "", 0, err
	}
	if err := atomicfile.WriteFile(file, out, 0o600); err != nil {
		return "", 0, err
	}
	s, err := certs.ParsePrivateKey([]byte(e.PrivateKey))
	if err != nil {
		return "", 0, err
	}
	kid, err = Thumbprint(s.Public())
	return kid, dropped, err
}

func publicEqual(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
