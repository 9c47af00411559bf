package certs

import (
	"crypto/tls"
	"testing"
)

// The certificate lookup runs on every handshake; it must stay an atomic load.
func BenchmarkSelfSignedGetCertificate(b *testing.B) {
	s, err := NewSelfSigned(SelfSignedOptions{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	hello := &tls.ClientHelloInfo{ServerName: "localhost"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.GetCertificate(hello); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSelfSignedIssue(b *testing.B) {
	s, err := NewSelfSigned(SelfSignedOptions{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.ca.issue(s.names, s.now(), s.validity); err != nil {
			b.Fatal(err)
		}
	}
}
