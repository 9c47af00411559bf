package certs

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is an injected clock tests move by hand.
type fakeClock struct{ t atomic.Pointer[time.Time] }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.t.Store(&t)
	return c
}

func (c *fakeClock) Now() time.Time          { return *c.t.Load() }
func (c *fakeClock) Advance(d time.Duration) { t := c.Now().Add(d); c.t.Store(&t) }

func leafOf(t testing.TB, s *SelfSigned) *x509.Certificate {
	t.Helper()
	c, err := s.GetCertificate(&tls.ClientHelloInfo{ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	return c.Leaf
}

func caPool(t testing.TB, s *SelfSigned) *x509.CertPool {
	t.Helper()
	p, err := LoadCertPool(s.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func verifyFor(leaf *x509.Certificate, pool *x509.CertPool, name string, at time.Time) error {
	_, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name, CurrentTime: at})
	return err
}

func TestSelfSignedNamesAndFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	s, err := NewSelfSigned(SelfSignedOptions{Dir: dir, Hosts: []string{"Registry.Example.TEST.", "10.1.2.3", "registry.example.test:5443"}})
	if err != nil {
		t.Fatal(err)
	}
	leaf := leafOf(t, s)
	pool := caPool(t, s)
	names := []string{"localhost", "127.0.0.1", "::1", "registry.example.test", "10.1.2.3"}
	if h, err := os.Hostname(); err == nil && checkDNSName(strings.ToLower(h)) == nil {
		names = append(names, h)
	}
	for _, name := range names {
		if err := verifyFor(leaf, pool, name, time.Now()); err != nil {
			t.Errorf("certificate does not verify for %q: %v", name, err)
		}
	}
	if err := verifyFor(leaf, pool, "other.example", time.Now()); err == nil {
		t.Error("certificate verifies for a name it should not cover")
	}
	if leaf.IsCA {
		t.Error("server certificate is a CA")
	}
	if !s.NotAfter().Equal(leaf.NotAfter) {
		t.Errorf("NotAfter = %v, want %v", s.NotAfter(), leaf.NotAfter)
	}
	if got := leaf.NotAfter.Sub(leaf.NotBefore); got < DefaultSelfSignedValidity {
		t.Errorf("validity = %v, want at least %v", got, DefaultSelfSignedValidity)
	}
	for file, want := range map[string]os.FileMode{"ca.key": 0o600, "server.key": 0o600, "ca.crt": 0o644, "server.crt": 0o644} {
		fi, err := os.Stat(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode = %v, want %v", file, fi.Mode().Perm(), want)
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode = %v (%v), want 0700", fi.Mode().Perm(), err)
	}
}

func TestSelfSignedRestart(t *testing.T) {
	dir := t.TempDir()
	open := func(hosts ...string) *SelfSigned {
		t.Helper()
		s, err := NewSelfSigned(SelfSignedOptions{Dir: dir, Hosts: hosts})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := open("registry.example.test")
	firstCA, err := os.ReadFile(first.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	firstLeaf := leafOf(t, first)

	t.Run("same names keep CA and server certificate", func(t *testing.T) {
		again := open("registry.example.test")
		ca, err := os.ReadFile(again.CAFile())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ca, firstCA) {
			t.Error("CA changed across restart")
		}
		if !bytes.Equal(leafOf(t, again).Raw, firstLeaf.Raw) {
			t.Error("server certificate re-issued although nothing changed")
		}
	})
	t.Run("new hostname gets new leaf from same CA", func(t *testing.T) {
		more := open("registry.example.test", "new.example.test")
		ca, err := os.ReadFile(more.CAFile())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ca, firstCA) {
			t.Error("CA changed when a hostname was added")
		}
		leaf := leafOf(t, more)
		if bytes.Equal(leaf.Raw, firstLeaf.Raw) {
			t.Fatal("server certificate not re-issued for a new hostname")
		}
		// Clients that trusted the first CA accept the new certificate for the new name.
		firstPool := x509.NewCertPool()
		firstPool.AppendCertsFromPEM(firstCA)
		for _, name := range []string{"new.example.test", "registry.example.test", "localhost"} {
			if err := verifyFor(leaf, firstPool, name, time.Now()); err != nil {
				t.Errorf("new certificate does not verify for %q against the original CA: %v", name, err)
			}
		}
	})
	t.Run("removed hostname gets new leaf", func(t *testing.T) {
		fewer := open()
		leaf := leafOf(t, fewer)
		if err := verifyFor(leaf, caPool(t, fewer), "registry.example.test", time.Now()); err == nil {
			t.Error("certificate still covers a removed hostname")
		}
	})
}

func TestSelfSignedRenewal(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	log, logs := newTestLogger(t)
	opts := SelfSignedOptions{Dir: dir, Now: clock.Now, Validity: 10 * time.Hour, RenewBefore: 2 * time.Hour, Logger: log}
	s, err := NewSelfSigned(opts)
	if err != nil {
		t.Fatal(err)
	}
	first := leafOf(t, s)
	pool := caPool(t, s)

	clock.Advance(7 * time.Hour)
	if got := leafOf(t, s); !bytes.Equal(got.Raw, first.Raw) {
		t.Fatal("re-issued before the renewal window")
	}
	clock.Advance(90 * time.Minute) // 8h30m: inside the 2h window before expiry at 10h
	second := leafOf(t, s)
	if bytes.Equal(second.Raw, first.Raw) {
		t.Fatal("not re-issued inside the renewal window")
	}
	if !second.NotAfter.After(first.NotAfter) {
		t.Errorf("renewed NotAfter %v not after old %v", second.NotAfter, first.NotAfter)
	}
	if !s.NotAfter().Equal(second.NotAfter) {
		t.Errorf("NotAfter() = %v, want %v", s.NotAfter(), second.NotAfter)
	}
	if err := verifyFor(second, pool, "localhost", clock.Now()); err != nil {
		t.Errorf("renewed certificate does not verify against the same CA: %v", err)
	}
	if got := leafOf(t, s); !bytes.Equal(got.Raw, second.Raw) {
		t.Error("re-issued again right after renewal")
	}
	if !strings.Contains(logs.String(), "issued self-signed server certificate") {
		t.Errorf("renewal not logged: %s", logs)
	}

	// The renewed certificate was written: a restart serves it.
	restarted, err := NewSelfSigned(opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := leafOf(t, restarted); !bytes.Equal(got.Raw, second.Raw) {
		t.Error("restart did not load the renewed certificate")
	}

	// A restart after the certificate entered its renewal window re-issues it at once.
	clock.Advance(9 * time.Hour)
	late, err := NewSelfSigned(opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := leafOf(t, late); bytes.Equal(got.Raw, second.Raw) || !clock.Now().Before(got.NotAfter.Add(-opts.RenewBefore)) {
		t.Error("restart inside the renewal window kept the old certificate")
	}
}

func TestSelfSignedConcurrentRenewal(t *testing.T) {
	clock := newFakeClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	s, err := NewSelfSigned(SelfSignedOptions{Dir: t.TempDir(), Now: clock.Now, Validity: time.Hour, RenewBefore: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(55 * time.Minute)
	results := make(chan []byte, 16)
	for range cap(results) {
		go func() {
			c, _ := s.GetCertificate(&tls.ClientHelloInfo{})
			results <- c.Leaf.Raw
		}()
	}
	seen := map[string]bool{}
	for range cap(results) {
		seen[string(<-results)] = true
	}
	if len(seen) != 1 {
		t.Errorf("concurrent handshakes saw %d different certificates, want one renewal", len(seen))
	}
}

func TestSelfSignedCANearExpiry(t *testing.T) {
	clock := newFakeClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	dir := t.TempDir()
	if _, err := NewSelfSigned(SelfSignedOptions{Dir: dir, Now: clock.Now}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(caValidity - 24*time.Hour) // the CA has a day left
	log, logs := newTestLogger(t)
	s, err := NewSelfSigned(SelfSignedOptions{Dir: dir, Now: clock.Now, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	first := leafOf(t, s)
	if got := leafOf(t, s); !bytes.Equal(got.Raw, first.Raw) {
		t.Error("re-signed on every handshake while the CA caps the certificate")
	}
	if !strings.Contains(logs.String(), "local CA expires") {
		t.Errorf("no warning about the expiring CA:\n%s", logs)
	}
}

func TestSelfSignedRefusesBrokenCA(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(t *testing.T, dir string)
	}{
		{"corrupt key", func(t *testing.T, dir string) { write(t, filepath.Join(dir, "ca.key"), "garbage") }},
		{"missing key", func(t *testing.T, dir string) { remove(t, filepath.Join(dir, "ca.key")) }},
		{"missing certificate", func(t *testing.T, dir string) { remove(t, filepath.Join(dir, "ca.crt")) }},
		{"key of another CA", func(t *testing.T, dir string) {
			other := t.TempDir()
			if _, err := NewSelfSigned(SelfSignedOptions{Dir: other}); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(other, "ca.key"))
			if err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(dir, "ca.key"), string(data))
		}},
		{"server certificate as CA", func(t *testing.T, dir string) {
			for _, f := range []string{"crt", "key"} {
				data, err := os.ReadFile(filepath.Join(dir, "server."+f))
				if err != nil {
					t.Fatal(err)
				}
				write(t, filepath.Join(dir, "ca."+f), string(data))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := NewSelfSigned(SelfSignedOptions{Dir: dir}); err != nil {
				t.Fatal(err)
			}
			tt.breakIt(t, dir)
			before, _ := os.ReadFile(filepath.Join(dir, "ca.crt"))
			if _, err := NewSelfSigned(SelfSignedOptions{Dir: dir}); err == nil {
				t.Fatal("NewSelfSigned accepted a broken CA")
			}
			after, _ := os.ReadFile(filepath.Join(dir, "ca.crt"))
			if !bytes.Equal(before, after) {
				t.Error("a broken CA was replaced; clients trusting it would break")
			}
		})
	}
}

func TestSelfSignedOptionErrors(t *testing.T) {
	tests := []struct {
		name string
		opts SelfSignedOptions
	}{
		{"no dir", SelfSignedOptions{}},
		{"bad host", SelfSignedOptions{Dir: t.TempDir(), Hosts: []string{"bad_host!"}}},
		{"renew before longer than validity", SelfSignedOptions{Dir: t.TempDir(), Validity: time.Hour, RenewBefore: 2 * time.Hour}},
		{"negative validity", SelfSignedOptions{Dir: t.TempDir(), Validity: -time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewSelfSigned(tt.opts); err == nil {
				t.Error("NewSelfSigned succeeded")
			}
		})
	}
}

func TestSelfSignedHandshake(t *testing.T) {
	s, err := NewSelfSigned(SelfSignedOptions{Dir: t.TempDir(), Hosts: []string{"registry.example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, ServerConfig(s.GetCertificate, ServerOptions{}), nil)
	pool := caPool(t, s)
	// By name (with SNI) and by address (no SNI): both must verify against the CA file.
	for _, name := range []string{"registry.example.test", "localhost", "127.0.0.1"} {
		if _, err := handshake(t, addr, &tls.Config{RootCAs: pool, ServerName: name}); err != nil {
			t.Errorf("handshake as %q: %v", name, err)
		}
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}
