package certs

import (
	"bytes"
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/atomicfile"
	"github.com/portcullis/portcullis/internal/reload"
)

// filesFixture runs a Files over a directory behind a real TLS listener.
type filesFixture struct {
	ca                *testCA
	dir               string
	certFile, keyFile string
	files             *Files
	logs              *logBuffer
	reloads           chan error
	addr              string
}

func newFilesFixture(t *testing.T, setup func(f *Files)) (*filesFixture, *tls.Certificate) {
	t.Helper()
	fx := &filesFixture{ca: newTestCA(t), dir: t.TempDir(), reloads: make(chan error, 64)}
	fx.certFile = filepath.Join(fx.dir, "tls.crt")
	fx.keyFile = filepath.Join(fx.dir, "tls.key")
	first := fx.replace(t, "first.example.test")
	log, logs := newTestLogger(t)
	fx.logs = logs
	f, err := NewFiles(fx.certFile, fx.keyFile, log)
	if err != nil {
		t.Fatal(err)
	}
	fx.files = f
	// Only events, unless setup says otherwise.
	f.file.Watch = reload.Watch{Debounce: 20 * time.Millisecond, Poll: time.Hour, Checked: fx.checked}
	if setup != nil {
		setup(f)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	fx.addr = serveTLS(t, ServerConfig(f.GetCertificate, ServerOptions{}), nil)
	return fx, first
}

// checked reports every reload attempt Run makes.
func (fx *filesFixture) checked(attempted bool, err error) {
	if attempted {
		fx.reloads <- err
	}
}

// replace writes a new pair for name the way certbot does: each file renamed into place.
func (fx *filesFixture) replace(t *testing.T, name string) *tls.Certificate {
	t.Helper()
	cert, certData, keyData := fx.ca.pair(t, time.Hour, name)
	if err := atomicfile.WriteFile(fx.certFile, certData, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.WriteFile(fx.keyFile, keyData, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert
}

// served returns the certificate the next handshake gets.
func (fx *filesFixture) served(t *testing.T) []byte {
	t.Helper()
	cs, err := handshake(t, fx.addr, &tls.Config{RootCAs: fx.ca.pool, ServerName: "localhost", InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	return cs.PeerCertificates[0].Raw
}

// waitServed waits for reloads until the next handshake gets want.
func (fx *filesFixture) waitServed(t *testing.T, want *tls.Certificate) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for !bytes.Equal(fx.served(t), want.Certificate[0]) {
		select {
		case <-fx.reloads:
		case <-timeout:
			t.Fatalf("new certificate not served; logs:\n%s", fx.logs)
		}
	}
}

// waitFailure waits for a failed reload attempt.
func (fx *filesFixture) waitFailure(t *testing.T) error {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case err := <-fx.reloads:
			if err != nil {
				return err
			}
		case <-timeout:
			t.Fatalf("no failed reload seen; logs:\n%s", fx.logs)
		}
	}
}

func TestFilesReloadOnReplace(t *testing.T) {
	fx, first := newFilesFixture(t, nil)
	if !bytes.Equal(fx.served(t), first.Certificate[0]) {
		t.Fatal("initial certificate not served")
	}
	second := fx.replace(t, "second.example.test")
	fx.waitServed(t, second)
	if !fx.files.NotAfter().Equal(second.Leaf.NotAfter) {
		t.Errorf("NotAfter = %v, want %v", fx.files.NotAfter(), second.Leaf.NotAfter)
	}

	t.Run("corrupt certificate keeps the old one serving", func(t *testing.T) {
		write(t, fx.certFile, "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n")
		err := fx.waitFailure(t)
		if !bytes.Equal(fx.served(t), second.Certificate[0]) {
			t.Error("a corrupt file replaced the served certificate")
		}
		if !strings.Contains(fx.logs.String(), "reload failed; keeping the last good version") || !strings.Contains(fx.logs.String(), err.Error()) {
			t.Errorf("failure not logged with its cause; logs:\n%s", fx.logs)
		}
		if err := fx.files.Reload(t.Context()); err == nil {
			t.Error("Reload of a corrupt pair succeeded")
		}
	})
	t.Run("mismatched key keeps the old one serving", func(t *testing.T) {
		_, _, otherKey := fx.ca.pair(t, time.Hour, "x.example.test")
		_, certData, _ := fx.ca.pair(t, time.Hour, "y.example.test")
		write(t, fx.certFile, string(certData))
		write(t, fx.keyFile, string(otherKey))
		fx.waitFailure(t)
		if !bytes.Equal(fx.served(t), second.Certificate[0]) {
			t.Error("a mismatched pair replaced the served certificate")
		}
	})
	t.Run("deleted files keep the old one serving", func(t *testing.T) {
		remove(t, fx.keyFile)
		fx.waitFailure(t)
		if !bytes.Equal(fx.served(t), second.Certificate[0]) {
			t.Error("deleting the key changed the served certificate")
		}
	})
	t.Run("fixed files are picked up again", func(t *testing.T) {
		third := fx.replace(t, "third.example.test")
		fx.waitServed(t, third)
	})
}

// TestFilesKubernetesSecretSwap mimics a Secret volume: tls.crt and tls.key are symlinks
// through "..data", which the kubelet swaps atomically to a new timestamped directory.
func TestFilesKubernetesSecretSwap(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	writeGeneration := func(gen, name string) *tls.Certificate {
		cert, certData, keyData := ca.pair(t, time.Hour, name)
		if err := os.Mkdir(filepath.Join(dir, gen), 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, gen, "tls.crt"), string(certData))
		write(t, filepath.Join(dir, gen, "tls.key"), string(keyData))
		if err := os.Symlink(gen, filepath.Join(dir, "..data_tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
		return cert
	}
	first := writeGeneration("..2026_01_01", "first.example.test")
	for _, f := range []string{"tls.crt", "tls.key"} {
		if err := os.Symlink(filepath.Join("..data", f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	log, logs := newTestLogger(t)
	f, err := NewFiles(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), log)
	if err != nil {
		t.Fatal(err)
	}
	fx := &filesFixture{ca: ca, files: f, logs: logs, reloads: make(chan error, 64),
		addr: serveTLS(t, ServerConfig(f.GetCertificate, ServerOptions{}), nil)}
	f.file.Watch = reload.Watch{Debounce: 20 * time.Millisecond, Poll: time.Hour, Checked: fx.checked}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); f.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	if !bytes.Equal(fx.served(t), first.Certificate[0]) {
		t.Fatal("initial certificate not served")
	}
	second := writeGeneration("..2026_02_01", "second.example.test")
	fx.waitServed(t, second)
}

// TestFilesPollFallback covers file systems without change events.
func TestFilesPollFallback(t *testing.T) {
	fx, _ := newFilesFixture(t, func(f *Files) {
		f.file.Watch.NoEvents = true
		f.file.Watch.Poll = 10 * time.Millisecond
	})
	second := fx.replace(t, "second.example.test")
	fx.waitServed(t, second)
	if err := atomicfile.WriteFile(fx.certFile, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	fx.waitFailure(t)
	if !bytes.Equal(fx.served(t), second.Certificate[0]) {
		t.Error("a corrupt file replaced the served certificate")
	}
	third := fx.replace(t, "third.example.test")
	fx.waitServed(t, third)
}

// TestFilesReloadSkipsUnchanged: polling an unchanged broken pair must not report it on
// every tick, while an explicit Reload always tries.
func TestFilesReloadSkipsUnchanged(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	_, certData, keyData := ca.pair(t, time.Hour, "a.example.test")
	write(t, certFile, string(certData))
	write(t, keyFile, string(keyData))
	f, err := NewFiles(certFile, keyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := f.file.Check(t.Context()); changed || err != nil {
		t.Errorf("unchanged files: reload = %v, %v; want no change", changed, err)
	}
	write(t, certFile, "garbage")
	if _, err := f.file.Check(t.Context()); err == nil {
		t.Fatal("broken pair loaded")
	}
	if changed, err := f.file.Check(t.Context()); changed || err != nil {
		t.Errorf("unchanged broken files reported again: %v, %v", changed, err)
	}
	if err := f.Reload(t.Context()); err == nil {
		t.Error("forced Reload of a broken pair succeeded")
	}
	cert, err := f.GetCertificate(nil)
	if err != nil || cert.Leaf.DNSNames[0] != "a.example.test" {
		t.Errorf("served certificate changed after failed reloads: %v", err)
	}
}

func TestNewFilesErrors(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	_, certData, keyData := ca.pair(t, time.Hour, "a.example.test")
	_, _, otherKey := ca.pair(t, time.Hour, "b.example.test")
	good, key, other, junk := filepath.Join(dir, "good.crt"), filepath.Join(dir, "good.key"), filepath.Join(dir, "other.key"), filepath.Join(dir, "junk")
	write(t, good, string(certData))
	write(t, key, string(keyData))
	write(t, other, string(otherKey))
	write(t, junk, "junk")
	tests := []struct{ name, cert, key string }{
		{"missing cert", filepath.Join(dir, "nope.crt"), key},
		{"missing key", good, filepath.Join(dir, "nope.key")},
		{"mismatched key", good, other},
		{"junk cert", junk, key},
		{"empty names", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewFiles(tt.cert, tt.key, nil); err == nil {
				t.Error("NewFiles succeeded")
			}
		})
	}
	if _, err := NewFiles(good, key, nil); err != nil {
		t.Errorf("NewFiles with a good pair: %v", err)
	}
}
