package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/portcullis/portcullis/certs"
	"github.com/portcullis/portcullis/config"
)

// runHealth implements `gateway health`: it asks the running gateway for /v2/ the way a
// registry client would and exits 0 when the answer is the registry API's (200 or 401
// with Docker-Distribution-Api-Version: registry/2.0), 1 otherwise. It reads the same
// configuration as serve (flags, GATEWAY_* variables, --config), so in a container whose
// settings are in the environment `gateway health` needs no arguments; it is the image's
// HEALTHCHECK. The certificate is verified: against DATA/certs/ca.crt for tls self-signed,
// against the configured tls_cert for tls files (the gateway must serve that very
// certificate), against the system CAs for acme, or against --ca.
func runHealth(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var target, ca *string
	var timeout *time.Duration
	cfg, code := readConfig("health", args, stdout, stderr, func(fs *flag.FlagSet) {
		target = fs.String("url", "", "URL to probe (default: /v2/ on the listen port of this host)")
		ca = fs.String("ca", "", "PEM file of the CA to verify the gateway's certificate against")
		timeout = fs.Duration("timeout", 5*time.Second, "give up after this long")
	})
	if code != 0 {
		return code
	}
	url, client, err := healthClient(cfg, *target, *ca, *timeout)
	if err != nil {
		fmt.Fprintf(stderr, "gateway health: %v\n", err)
		return 1
	}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "gateway health: %v\n", err)
		return 1
	}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "gateway health: unhealthy: %v\n", err)
		return 1
	}
	resp.Body.Close()
	api := resp.Header.Get("Docker-Distribution-Api-Version")
	if (resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized) || api != "registry/2.0" {
		fmt.Fprintf(stderr, "gateway health: unhealthy: GET %s answered %s, Docker-Distribution-Api-Version %q; want 200 or 401 with registry/2.0\n", url, resp.Status, api)
		return 1
	}
	fmt.Fprintf(stdout, "healthy: GET %s answered %d (%s)\n", url, resp.StatusCode, api)
	return 0
}

// healthClient returns the URL to probe and a client that verifies what it should.
func healthClient(cfg config.Config, target, caFile string, timeout time.Duration) (string, *http.Client, error) {
	tr := &http.Transport{Proxy: nil, TLSHandshakeTimeout: timeout, DisableKeepAlives: true}
	client := &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if target == "" {
		_, port, err := net.SplitHostPort(cfg.Listen)
		if err != nil {
			return "", nil, fmt.Errorf("listen %q is not host:port", cfg.Listen)
		}
		host := "localhost"
		if h, _, _ := net.SplitHostPort(cfg.Listen); h != "" && h != "0.0.0.0" && h != "::" {
			host = h
		}
		scheme := "https"
		if cfg.TLS == config.TLSOff {
			scheme = "http"
		}
		target = scheme + "://" + net.JoinHostPort(host, port) + "/v2/"
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	tr.TLSClientConfig = tc
	switch {
	case caFile != "":
		pool, err := certs.LoadCertPool(caFile)
		if err != nil {
			return "", nil, fmt.Errorf("--ca: %w", err)
		}
		tc.RootCAs = pool
	case cfg.TLS == config.TLSSelfSigned || cfg.TLS == "":
		file := filepath.Join(cfg.Data, "certs", "ca.crt")
		pool, err := certs.LoadCertPool(file)
		if err != nil {
			return "", nil, fmt.Errorf("the gateway's CA: %w", err)
		}
		// The generated certificate always names localhost, whatever address is dialled.
		tc.RootCAs, tc.ServerName = pool, "localhost"
	case cfg.TLS == config.TLSFiles:
		want, err := firstCertificate(cfg.TLSCert)
		if err != nil {
			return "", nil, err
		}
		// The gateway must serve the configured certificate; its names are for clients
		// elsewhere, so the one presented here is compared, not its name.
		tc.InsecureSkipVerify = true
		tc.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || !bytes.Equal(raw[0], want) {
				return errors.New("the gateway serves another certificate than tls_cert " + cfg.TLSCert)
			}
			return nil
		}
	case cfg.TLS == config.TLSACME && len(cfg.Hostname) > 0:
		tc.ServerName = cfg.Hostname[0]
	}
	return target, client, nil
}

// firstCertificate returns the DER bytes of the first certificate in a PEM file.
func firstCertificate(file string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("tls_cert: %w", err)
	}
	for {
		var blk *pem.Block
		if blk, b = pem.Decode(b); blk == nil {
			return nil, fmt.Errorf("tls_cert %s: no certificate", file)
		}
		if blk.Type == "CERTIFICATE" {
			return blk.Bytes, nil
		}
	}
}
