// Command goload is a closed-loop HTTPS load generator built on Go's own HTTP client, over
// HTTP/2 (or HTTP/1.1 with -h1): the client docker, containerd, podman, skopeo and crane
// all use. It exists beside the shared harness's hload (HTTP/1.1) and h2load (nghttp2)
// because HTTP/2 clients differ in one way that matters to bearer tokens: nghttp2 never
// indexes an Authorization header in HPACK, so a 1 KiB token is sent, Huffman-coded, with
// every request and decoded by the server each time; Go's encoder indexes it once per
// connection. bench/token.sh runs both.
//
//	goload -url URL [-X HEAD] [-c 16] [-d 8s] [-H 'K: V']... [-cacert FILE] [-h1]
//
// Prints one line: requests=N secs=S rps=R non2xx=N errors=N, as hload does.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func main() {
	var hdrs headers
	url := flag.String("url", "", "target URL")
	method := flag.String("X", "HEAD", "HTTP method")
	conns := flag.Int("c", 16, "concurrent requests (HTTP/2: streams over one connection each)")
	dur := flag.Duration("d", 8*time.Second, "duration")
	cacert := flag.String("cacert", "", "PEM CA file to trust")
	h1 := flag.Bool("h1", false, "HTTP/1.1 instead of HTTP/2")
	flag.Var(&hdrs, "H", "request header 'Name: value' (repeatable)")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "goload: -url is required")
		os.Exit(2)
	}
	tlsConf := &tls.Config{}
	if *cacert != "" {
		pem, err := os.ReadFile(*cacert)
		if err != nil {
			fmt.Fprintln(os.Stderr, "goload:", err)
			os.Exit(2)
		}
		tlsConf.RootCAs = x509.NewCertPool()
		tlsConf.RootCAs.AppendCertsFromPEM(pem)
	}
	var n, bad, errs atomic.Int64
	start := time.Now()
	deadline := start.Add(*dur)
	var wg sync.WaitGroup
	for range *conns {
		// One client per worker, so each has its own connection (and HPACK table).
		tr := &http.Transport{TLSClientConfig: tlsConf.Clone(), ForceAttemptHTTP2: !*h1, MaxIdleConnsPerHost: 1}
		if *h1 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		client := &http.Client{Transport: tr}
		wg.Go(func() {
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest(*method, *url, nil)
				for _, h := range hdrs {
					k, v, _ := strings.Cut(h, ":")
					req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
				}
				resp, err := client.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					bad.Add(1)
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	fmt.Printf("requests=%d secs=%.2f rps=%.1f non2xx=%d errors=%d\n", n.Load(), secs, float64(n.Load())/secs, bad.Load(), errs.Load())
}
