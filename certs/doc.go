// Package certs owns the gateway's server certificates: where they come from and how they
// stay fresh. It offers three sources, each a GetCertificate function for a tls.Config:
//
//   - SelfSigned: a local CA generated once and kept on disk, and a server certificate it
//     signs for the configured names, re-issued before expiry or when the names change.
//   - Files: a certificate and key from files (cert-manager, certbot), reloaded live when
//     they change; a broken pair keeps the previous one serving.
//   - ACME: certificates from Let's Encrypt or any ACME CA through
//     golang.org/x/crypto/acme/autocert, cached on disk and renewed before expiry.
//
// ServerConfig builds the tls.Config with the house defaults (TLS 1.2 minimum, HTTP/2,
// optional client certificates), and TrustInstructions tells users how to trust the local CA.
//
// certs knows nothing of HTTP requests beyond answering ACME HTTP-01 challenges routed to
// it: listeners, redirects, HSTS and which paths reach the challenge handler live in
// package server; the certificate-expiry metric is wired by cmd/gateway from NotAfter;
// turning a client certificate into a principal is the authenticator's job.
package certs
