package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzParseHosts checks that normalising is idempotent, yields only valid names, and that
// a certificate issued for the result is accepted for each name by crypto/x509 (a second
// reading of what the names mean).
func FuzzParseHosts(f *testing.F) {
	for _, seed := range []string{
		"localhost,127.0.0.1,::1",
		"Registry.Example.COM.,registry.example.com",
		"registry.example.com:5443,[::1]:443,[2001:db8::1]",
		"*.example.com,a-b.c",
		"::ffff:10.0.0.1,10.0.0.1",
		"fe80::1%eth0",
		"bad_name,-lead.example,trail-.example",
		" spaced.example , ,",
		strings.Repeat("a", 64) + ".example",
	} {
		f.Add(seed)
	}
	ca, err := newAuthority(time.Now())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, list string) {
		in := strings.Split(list, ",")
		n, err := parseHosts(in)
		out := n.strings()
		if !slices.IsSorted(n.DNS) || len(slices.Compact(slices.Clone(n.DNS))) != len(n.DNS) {
			t.Fatalf("DNS names not sorted and unique: %q", n.DNS)
		}
		for _, d := range n.DNS {
			if checkDNSName(d) != nil || d != strings.ToLower(d) || strings.HasSuffix(d, ".") {
				t.Fatalf("invalid name %q in output", d)
			}
		}
		for _, ip := range n.IPs {
			if ip.Is4In6() || ip.Zone() != "" {
				t.Fatalf("address %v not normalised", ip)
			}
			if parsed := net.ParseIP(ip.String()); parsed == nil || !parsed.Equal(net.IP(ip.AsSlice())) {
				t.Fatalf("net.ParseIP disagrees on %v", ip)
			}
		}
		again, err2 := parseHosts(out)
		if err2 != nil || !slices.Equal(again.strings(), out) {
			t.Fatalf("not idempotent: %q -> %q (%v)", out, again.strings(), err2)
		}
		if err != nil || len(out) == 0 {
			return
		}
		cert, ierr := ca.issue(n, time.Now(), time.Hour)
		if ierr != nil {
			t.Fatalf("issuing for %q: %v", out, ierr)
		}
		for _, name := range out {
			if strings.HasPrefix(name, "*.") {
				name = "x" + name[1:]
			}
			if err := cert.Leaf.VerifyHostname(name); err != nil {
				t.Fatalf("certificate for %q rejects %q: %v", out, name, err)
			}
		}
	})
}

// FuzzParseKeyPair checks that parseKeyPair agrees with tls.X509KeyPair and always returns
// the parsed leaf of the certificate it serves.
func FuzzParseKeyPair(f *testing.F) {
	ca, err := newAuthority(time.Now())
	if err != nil {
		f.Fatal(err)
	}
	n, _ := parseHosts([]string{"a.example"})
	cert, err := ca.issue(n, time.Now(), time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	kp, err := keyPEM(cert.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		f.Fatal(err)
	}
	cp := certPEM(cert.Certificate[0], ca.cert.Raw)
	caKey, err := keyPEM(ca.key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(cp, kp)
	f.Add(cp, caKey)          // mismatched
	f.Add(kp, cp)             // swapped
	f.Add(cp[:len(cp)/2], kp) // truncated
	f.Add([]byte("junk"), []byte(""))
	f.Fuzz(func(t *testing.T, certData, keyData []byte) {
		got, err := parseKeyPair(certData, keyData)
		want, wantErr := tls.X509KeyPair(certData, keyData)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("parseKeyPair error %v, tls.X509KeyPair error %v", err, wantErr)
		}
		if err != nil {
			return
		}
		if got.Leaf == nil || !bytes.Equal(got.Leaf.Raw, got.Certificate[0]) {
			t.Fatal("Leaf is not the first certificate")
		}
		if len(got.Certificate) != len(want.Certificate) {
			t.Fatalf("chain length %d, want %d", len(got.Certificate), len(want.Certificate))
		}
	})
}

// FuzzParseSigner checks that any key parseSigner accepts survives a round trip through
// the PKCS#8 encoding we write.
func FuzzParseSigner(f *testing.F) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	pkcs8, err := keyPEM(ec)
	if err != nil {
		f.Fatal(err)
	}
	sec1der, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		f.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pkcs8)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1der}))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}))
	f.Add(append([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), pkcs8...))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parseSigner(data)
		if err != nil {
			return
		}
		out, err := keyPEM(s)
		if err != nil {
			t.Fatalf("cannot re-encode accepted key %T: %v", s, err)
		}
		back, err := parseSigner(out)
		if err != nil {
			t.Fatalf("re-encoded key does not parse: %v", err)
		}
		if !publicKeysEqual(s.Public(), back.Public()) {
			t.Fatal("round trip changed the key")
		}
	})
}
