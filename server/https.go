package server

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// acmeChallengePrefix is where HTTP-01 challenges are fetched (RFC 8555 section 8.3).
const acmeChallengePrefix = "/.well-known/acme-challenge/"

// hstsMaxAge is how long browsers are told to use HTTPS only.
const hstsMaxAge = 365 * 24 * time.Hour

// redirectToHTTPS answers the plain-HTTP listener: every request is redirected to the same
// host, path and query over HTTPS on httpsPort ("" or "443" leave the port out). GET and HEAD
// get 301; other methods get 308 so clients repeat the method and body. ACME challenge paths
// go to acmeChallenge instead (certs answers them); with none (ACME off) they get 404, as a
// redirect would only send a CA's validator somewhere it cannot succeed.
func redirectToHTTPS(httpsPort string, acmeChallenge http.Handler) http.Handler {
	if acmeChallenge == nil {
		acmeChallenge = http.NotFoundHandler()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, acmeChallengePrefix) {
			acmeChallenge.ServeHTTP(w, r)
			return
		}
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		if host == "" {
			http.Error(w, "Host header required; use HTTPS", http.StatusBadRequest)
			return
		}
		if httpsPort != "" && httpsPort != "443" {
			host = net.JoinHostPort(host, httpsPort)
		} else if strings.Contains(host, ":") {
			host = "[" + host + "]" // IPv6 literal
		}
		code := http.StatusPermanentRedirect
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			code = http.StatusMovedPermanently
		}
		// RequestURI keeps the path as the client escaped it, so the redirect names the
		// same resource.
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), code)
	})
}

// hsts adds Strict-Transport-Security to responses sent over TLS, telling browsers to use
// HTTPS only for maxAge (RFC 6797: the header is ignored over plain HTTP, so it is not sent
// there). Subdomains are left alone: the registry's name says nothing about its siblings.
// A maxAge of zero or less adds nothing.
func hsts(maxAge time.Duration) func(http.Handler) http.Handler {
	value := "max-age=" + strconv.FormatInt(int64(maxAge/time.Second), 10)
	return func(next http.Handler) http.Handler {
		if maxAge <= 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.TLS != nil {
				w.Header().Set("Strict-Transport-Security", value)
			}
			next.ServeHTTP(w, r)
		})
	}
}
