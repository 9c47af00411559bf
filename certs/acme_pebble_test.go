package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestACMEPebble(t *testing.T) {
	env := startPebble(t)
	const (
		alpnHost = "registry.portcullis.test" // validated by TLS-ALPN-01 on the HTTPS listener
		httpHost = "http01.portcullis.test"   // not served on HTTPS, so only HTTP-01 can work
	)
	logger, logs := newTestLogger(t)
	stored := make(chan string, 64)
	newACME := func(host, cacheDir string) *ACME {
		a, err := NewACME(ACMEOptions{
			CacheDir: cacheDir, Hosts: []string{host}, Email: "ops@portcullis.test",
			DirectoryURL: env.directory, HTTPClient: env.client, RenewBefore: acmeRenewBefore, Logger: logger,
		})
		if err != nil {
			t.Fatal(err)
		}
		a.onStored = func(name string, _ time.Time) {
			select { // renewals go on after the test; never block autocert
			case stored <- name:
			default:
			}
		}
		return a
	}
	alpnCache := filepath.Join(t.TempDir(), "acme")
	alpn, http01 := newACME(alpnHost, alpnCache), newACME(httpHost, filepath.Join(t.TempDir(), "acme"))

	redirect := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://"+r.Host+r.URL.RequestURI(), http.StatusMovedPermanently)
	})
	plain := http.NewServeMux() // the routing package server does on port 80
	plain.Handle(httpHost+"/.well-known/acme-challenge/", http01.HTTPChallenges())
	plain.Handle("/.well-known/acme-challenge/", alpn.HTTPChallenges())
	plain.Handle("/", redirect)
	serveOn(t, env.httpLn, plain, nil)
	serveOn(t, env.tlsLn, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }),
		ServerConfig(alpn.GetCertificate, ServerOptions{ExtraNextProtos: alpn.NextProtos()}))
	httpsAddr := env.tlsLn.Addr().String()

	// fetch connects as a client trusting only pebble's root and returns the verified leaf.
	fetch := func(t *testing.T) *x509.Certificate {
		t.Helper()
		d := &tls.Dialer{Config: &tls.Config{RootCAs: env.roots, ServerName: alpnHost}}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		c, err := d.DialContext(ctx, "tcp", httpsAddr)
		if err != nil {
			t.Fatalf("handshake with %s: %v\nlogs:\n%s", alpnHost, err, logs)
		}
		defer c.Close()
		return c.(*tls.Conn).ConnectionState().PeerCertificates[0]
	}
	waitStored := func(t *testing.T, name string) {
		t.Helper()
		timeout := time.After(2 * time.Minute)
		for {
			select {
			case got := <-stored:
				if got == name {
					return
				}
			case <-timeout:
				t.Fatalf("no certificate stored for %s; logs:\n%s", name, logs)
			}
		}
	}

	var first *x509.Certificate
	t.Run("TLS-ALPN-01 issuance", func(t *testing.T) {
		first = fetch(t)
		if err := first.VerifyHostname(alpnHost); err != nil {
			t.Error(err)
		}
		if got := first.NotAfter.Sub(first.NotBefore); got > pebbleValidity {
			t.Errorf("lifetime %v, want pebble's short-lived %v", got, pebbleValidity)
		}
		if na := alpn.NotAfter(); !na.Equal(first.NotAfter) {
			t.Errorf("NotAfter() = %v, want %v", na, first.NotAfter)
		}
		if !strings.Contains(logs.String(), "obtained ACME certificate") {
			t.Errorf("issuance not logged:\n%s", logs)
		}
	})
	if first == nil {
		t.FailNow()
	}

	t.Run("HTTP-01 issuance", func(t *testing.T) {
		if err := http01.Prefetch(t.Context()); err != nil {
			t.Fatalf("Prefetch: %v\npebble:\n%s", err, env.pebbleLogs)
		}
		if http01.NotAfter().IsZero() {
			t.Error("NotAfter still zero after Prefetch")
		}
		if !strings.Contains(env.pebbleLogs.String(), "validate w/ HTTP: http://"+httpHost) {
			t.Errorf("pebble did not validate over HTTP-01:\n%s", env.pebbleLogs)
		}
	})

	t.Run("renewal before expiry", func(t *testing.T) {
		// autocert renews RenewBefore ahead of expiry, a few seconds after issuance here.
		renewed := first
		for renewed.SerialNumber.Cmp(first.SerialNumber) == 0 {
			waitStored(t, alpnHost)
			renewed = fetch(t)
		}
		if !renewed.NotAfter.After(first.NotAfter) {
			t.Errorf("renewed certificate expires %v, not after %v", renewed.NotAfter, first.NotAfter)
		}
		if err := renewed.VerifyHostname(alpnHost); err != nil {
			t.Error(err)
		}
	})

	t.Run("restart uses the cached certificate", func(t *testing.T) {
		restarted := newACME(alpnHost, alpnCache)
		var obtained atomic.Int32
		restarted.onStored = func(string, time.Time) { obtained.Add(1) }
		if err := restarted.Prefetch(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := obtained.Load(); n != 0 {
			t.Errorf("restart obtained %d new certificates, want the cached one", n)
		}
		if restarted.NotAfter().IsZero() || restarted.NotAfter().Before(first.NotAfter) {
			t.Errorf("restart loaded a certificate expiring %v, want the cached renewal", restarted.NotAfter())
		}
	})

	t.Run("plain HTTP redirects except the challenge path", func(t *testing.T) {
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		for _, tt := range []struct {
			host, path string
			want       int
		}{
			{alpnHost, "/v2/", http.StatusMovedPermanently},
			{alpnHost, "/.well-known/acme-challenge/unknown-token", http.StatusNotFound},
			{"stranger.example", "/.well-known/acme-challenge/x", http.StatusForbidden},
		} {
			req, err := http.NewRequestWithContext(t.Context(), "GET", "http://"+env.httpLn.Addr().String()+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = tt.host
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%s%s: status %d, want %d", tt.host, tt.path, resp.StatusCode, tt.want)
			}
		}
	})

	t.Run("names outside the host policy get no certificate", func(t *testing.T) {
		d := &tls.Dialer{Config: &tls.Config{RootCAs: env.roots, ServerName: "stranger.portcullis.test"}}
		c, err := d.DialContext(t.Context(), "tcp", httpsAddr)
		if err == nil {
			c.Close()
			t.Fatal("handshake for a name outside the host policy succeeded")
		}
	})
}
