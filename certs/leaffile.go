package certs

import (
	"crypto"
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"slices"

	"github.com/portcullis/portcullis/internal/atomicfile"
)

// saveLeaf writes the server certificate and key beside the CA, key first (0600).
func (s *SelfSigned) saveLeaf(cert *tls.Certificate) error {
	kp, err := keyPEM(cert.PrivateKey.(crypto.Signer))
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(s.dir, "server.key"), kp, 0o600); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(s.dir, "server.crt"), certPEM(cert.Certificate...), 0o644)
}

// loadLeaf reuses the server certificate on disk if this CA signed it for exactly the
// configured names and it is not yet due for renewal.
func (s *SelfSigned) loadLeaf() (*leafState, bool) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(s.dir, "server.crt"), filepath.Join(s.dir, "server.key"))
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			s.logger.Warn("ignoring unreadable self-signed server certificate", "err", err)
		}
		return nil, false
	}
	leaf := cert.Leaf
	if leaf == nil || !s.ca.signedBy(leaf) {
		return nil, false
	}
	have := slices.Clone(leaf.DNSNames)
	for _, ip := range leaf.IPAddresses {
		have = append(have, ip.String())
	}
	n, err := parseHosts(have)
	if err != nil || !slices.Equal(n.strings(), s.names.strings()) {
		s.logger.Info("host names changed; re-issuing self-signed server certificate", "old", n.strings(), "new", s.names.strings())
		return nil, false
	}
	st := s.state(&cert)
	if !s.now().Before(st.renewAt) {
		return nil, false
	}
	return st, true
}
