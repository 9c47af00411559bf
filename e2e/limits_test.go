package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// Issue 12 fault 4: what a client that stops can hold. These tests attack the binary the
// way the fault was found: uploads that send 600 KiB and stop, clients that open
// connections and say nothing.

// rssKiB is the gateway process's resident set size.
func (g *gateway) rssKiB(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", g.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("reading the gateway's RSS: %v", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", v, err)
			}
			return n
		}
	}
	t.Fatal("no VmRSS in /proc/PID/status")
	return 0
}

// tlsConfig trusts the gateway's CA; protos is the ALPN list.
func (g *gateway) tlsConfig(protos ...string) *tls.Config {
	cfg := g.Client.Transport.(*http.Transport).TLSClientConfig.Clone()
	cfg.NextProtos = protos
	return cfg
}

// abs is a Location the gateway sent, as a URL: the bundled registry sends a path, an
// upstream an absolute URL (rewritten to the gateway's address).
func (g *gateway) abs(loc string) string {
	if strings.HasPrefix(loc, "https://") {
		return loc
	}
	return g.URL + loc
}

// startUpload opens an upload session in repo and returns its Location.
func (g *gateway) startUpload(t *testing.T, client *http.Client, user, pass, repo string) (string, int, http.Header) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", g.URL+"/v2/"+repo+"/blobs/uploads/", nil)
	req.SetBasicAuth(user, pass)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST upload: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return string(body), resp.StatusCode, resp.Header
	}
	return resp.Header.Get("Location"), resp.StatusCode, resp.Header
}

// stalledUpload is an upload whose client sent part of a chunk and stopped; ended is
// closed once the gateway has ended the request (answered it or closed the stream).
type stalledUpload struct {
	ended  chan struct{}
	answer string // the status line, or the error, the client saw
	close  func()
}

// stallH1 sends a PATCH of location over its own HTTP/1.1 connection, announcing more
// than it sends: headers and n bytes, then nothing, reading only the answer.
func (g *gateway) stallH1(t *testing.T, user, pass, location string, n int) *stalledUpload {
	t.Helper()
	c, err := tls.Dial("tcp", g.Addr, g.tlsConfig("http/1.1"))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	s := &stalledUpload{ended: make(chan struct{}), close: func() { c.Close() }}
	req, _ := http.NewRequest("PATCH", g.abs(location), nil)
	req.SetBasicAuth(user, pass)
	w := bufio.NewWriterSize(c, 64<<10)
	fmt.Fprintf(w, "PATCH %s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n",
		location, g.Addr, req.Header.Get("Authorization"), 100<<20)
	w.Write(make([]byte, n))
	if err := w.Flush(); err != nil {
		t.Fatalf("sending the first %d bytes: %v", n, err)
	}
	go func() {
		defer close(s.ended)
		line, err := bufio.NewReader(c).ReadString('\n')
		s.answer = strings.TrimSpace(line)
		if s.answer == "" && err != nil {
			s.answer = err.Error()
		}
	}()
	return s
}

// stallH2 does the same over HTTP/2, on a connection of its own.
func (g *gateway) stallH2(t *testing.T, user, pass, location string, n int) *stalledUpload {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: g.tlsConfig(), ForceAttemptHTTP2: true}
	pr, pw := io.Pipe()
	s := &stalledUpload{ended: make(chan struct{}), close: func() { pw.Close(); tr.CloseIdleConnections() }}
	req, _ := http.NewRequestWithContext(context.Background(), "PATCH", g.abs(location), pr)
	req.SetBasicAuth(user, pass)
	req.Header.Set("Content-Type", "application/octet-stream")
	sent := make(chan struct{})
	go func() {
		pw.Write(make([]byte, n))
		close(sent)
	}()
	go func() {
		defer close(s.ended)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			s.answer = err.Error()
			return
		}
		resp.Body.Close()
		s.answer = resp.Proto + " " + resp.Status
	}()
	select {
	case <-sent:
	case <-time.After(60 * time.Second): // a hang guard
		t.Fatal("HTTP/2: the first bytes were not taken")
	}
	return s
}

// metric reads one sample from the gateway's /metrics (0 when absent).
func metric(t *testing.T, metricsAddr, sample string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for line := range strings.SplitSeq(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// slowBody yields size bytes in pieces of piece, one every interval: an upload that keeps
// moving, slowly, for longer than the body idle timeout.
type slowBody struct {
	left, piece int
	interval    time.Duration
	started     bool
}

func (b *slowBody) Read(p []byte) (int, error) {
	if b.left == 0 {
		return 0, io.EOF
	}
	if b.started {
		time.Sleep(b.interval) // the behaviour under test is a client this slow
	}
	b.started = true
	n := min(b.piece, b.left, len(p))
	clear(p[:n])
	b.left -= n
	return n, nil
}

// TestStalledUploads: uploads that send 600 KiB and stop, over HTTP/1.1 and HTTP/2, in
// waves, hold a bounded amount of memory each; the gateway ends every one of them after
// the body idle timeout, and a second round stays under the same bound (it reuses what
// the first freed instead of adding to it); meanwhile an upload that keeps moving, slowly, for twice the timeout is not
// cut and completes.
//
// The bound: per stalled upload the gateway now holds one 32 KiB receive chunk
// (registry/receive.go), the connection's TLS record buffers (crypto/tls keeps about
// 16-50 KiB per connection once a large record has been read), net/http's 4 KiB bufio
// reader and writer, and two or three goroutine stacks: about 110 KiB live, twice that
// in RSS with the GC's headroom (GOGC=100), and some for the allocator's fragmentation.
// 320 KiB each plus 48 MiB of slack for everything else; before the fix each held about
// 620 KiB (two 256 KiB copy buffers besides), and never let go.
func TestStalledUploads(t *testing.T) {
	const (
		idle    = 10 * time.Second
		uploads = 500
		wave    = 100
		h2Share = 5 // every fifth upload is HTTP/2
		sent    = 600 << 10
		perKiB  = 320
		slackMB = 48
	)
	metricsAddr := freeAddr(t)
	g := startGateway(t, t.TempDir(), append(authFlags(t),
		"--body-idle-timeout", idle.String(), "--metrics-listen", metricsAddr,
		// The caps would refuse most of these uploads: this test is about what the
		// admitted ones hold (TestUploadCaps tests the caps).
		"--max-uploads", "0", "--max-uploads-per-user", "0", "--max-conns-per-ip", "0")...)
	repo := adminUser + "/stalled"
	// Warm up: the first push allocates what every later one reuses.
	g.pushGGCR(t, adminUser+"/warm:1", adminUser, adminPass, 2)

	// The upload that keeps moving: 4 KiB a second for 2.5 timeouts, then committed.
	moving := make(chan error, 1)
	go func() {
		loc, code, _ := g.startUpload(t, g.Client, adminUser, adminPass, repo)
		if code != http.StatusAccepted {
			moving <- fmt.Errorf("POST: %d %s", code, loc)
			return
		}
		const size = 100 << 10
		body := &slowBody{left: size, piece: size * int(time.Second) / int(5*idle/2), interval: time.Second}
		req, _ := http.NewRequestWithContext(context.Background(), "PATCH", g.abs(loc), body)
		req.SetBasicAuth(adminUser, adminPass)
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := g.Client.Do(req)
		if err != nil {
			moving <- fmt.Errorf("slow PATCH: %w", err)
			return
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			moving <- fmt.Errorf("slow PATCH answered %s", resp.Status)
			return
		}
		sum := sha256.Sum256(make([]byte, size))
		req, _ = http.NewRequestWithContext(context.Background(), "PUT", g.abs(resp.Header.Get("Location")), nil)
		q := req.URL.Query()
		q.Set("digest", "sha256:"+hex.EncodeToString(sum[:]))
		req.URL.RawQuery = q.Encode()
		req.SetBasicAuth(adminUser, adminPass)
		resp, err = g.Client.Do(req)
		if err != nil {
			moving <- fmt.Errorf("PUT: %w", err)
			return
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			moving <- fmt.Errorf("PUT answered %s", resp.Status)
			return
		}
		moving <- nil
	}()

	round := func(name string) (peakKiB int64) {
		var mu sync.Mutex
		stop := make(chan struct{})
		var sampler sync.WaitGroup
		sampler.Go(func() {
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				rss := g.rssKiB(t)
				mu.Lock()
				peakKiB = max(peakKiB, rss)
				mu.Unlock()
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		})
		var stalled []*stalledUpload
		start := time.Now()
		for i := range uploads {
			loc, code, _ := g.startUpload(t, g.Client, adminUser, adminPass, repo)
			if code != http.StatusAccepted {
				t.Fatalf("POST upload %d: %d %s", i, code, loc)
			}
			if i%h2Share == 0 {
				stalled = append(stalled, g.stallH2(t, adminUser, adminPass, loc, sent))
			} else {
				stalled = append(stalled, g.stallH1(t, adminUser, adminPass, loc, sent))
			}
			if (i+1)%wave == 0 {
				t.Logf("%s: %d stalled, gateway RSS %d MiB", name, i+1, g.rssKiB(t)>>10)
			}
		}
		defer func() {
			for _, s := range stalled {
				s.close()
			}
		}()
		sentAll := time.Since(start)
		// Every one is ended by the gateway: the idle timeout after it stalled (the
		// guard is generous: a loaded machine, 500 connections).
		guard := time.After(idle + sentAll + 2*time.Minute)
		for i, s := range stalled {
			select {
			case <-s.ended:
			case <-guard:
				t.Fatalf("%s: stalled upload %d was not ended by the gateway (%d of %d were)", name, i, i, uploads)
			}
		}
		close(stop)
		sampler.Wait()
		answers := map[string]int{}
		for _, s := range stalled {
			answers[s.answer]++
		}
		t.Logf("%s: sent in %v; all ended by the gateway within %v; peak RSS %d MiB; answers %v",
			name, sentAll.Round(time.Second), time.Since(start).Round(time.Second), peakKiB>>10, answers)
		return peakKiB
	}

	base := g.rssKiB(t)
	peak1 := round("round 1")
	if err := <-moving; err != nil {
		t.Errorf("an upload that kept moving for 2.5 idle timeouts failed: %v", err)
	}
	peak2 := round("round 2")
	bound := base + uploads*perKiB + slackMB<<10
	t.Logf("RSS: %d MiB before, peaks %d and %d MiB, bound %d MiB", base>>10, peak1>>10, peak2>>10, bound>>10)
	if peak1 > bound {
		t.Errorf("%d stalled uploads took the gateway from %d to %d MiB, over the bound of %d MiB", uploads, base>>10, peak1>>10, bound>>10)
	}
	// Had the first round's memory been kept, the second would add as much again.
	if peak2 > bound {
		t.Errorf("the second round took the gateway to %d MiB, over the bound of %d MiB: the first round's memory was not released", peak2>>10, bound>>10)
	}
	if n := metric(t, metricsAddr, `portcullis_limit_hits_total{limit="body_idle"}`); n < 2*uploads {
		t.Errorf("body_idle hits = %v, want at least %d", n, 2*uploads)
	}
}

// TestUploadCaps: past max_uploads_per_user a user's next upload is answered 429
// TOOMANYREQUESTS in the registry's JSON envelope with Retry-After, while another user
// may still upload and the first may still pull; past max_uploads anyone's is; once the
// stalled uploads end, uploads are admitted again; the refusals are counted.
func TestUploadCaps(t *testing.T) {
	metricsAddr := freeAddr(t)
	g := startGateway(t, t.TempDir(), append(authFlags(t),
		"--max-uploads", "3", "--max-uploads-per-user", "2", "--metrics-listen", metricsAddr)...)
	hold := func(user, pass string) *stalledUpload {
		loc, code, _ := g.startUpload(t, g.Client, user, pass, user+"/capped")
		if code != http.StatusAccepted {
			t.Fatalf("%s: POST upload: %d %s", user, code, loc)
		}
		return g.stallH1(t, user, pass, loc, 1<<10)
	}
	// The gateway counts an upload from when it admits the request, before the body
	// arrives; a POST that starts a session is an upload request too, but a short one.
	var held []*stalledUpload
	defer func() {
		for _, s := range held {
			s.close()
		}
	}()
	held = append(held, hold(adminUser, adminPass), hold(adminUser, adminPass))
	waitMetric := func(sample string, want float64) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for metric(t, metricsAddr, sample) != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s never reached %v (is %v)", sample, want, metric(t, metricsAddr, sample))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitMetric("portcullis_uploads_in_flight", 2)

	checkRefused := func(who, user, pass, wantMessage string) {
		t.Helper()
		body, code, h := g.startUpload(t, g.Client, user, pass, user+"/capped")
		if code != http.StatusTooManyRequests || h.Get("Retry-After") != "5" || h.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d, Retry-After %q, Content-Type %q; want 429, 5, application/json", who, code, h.Get("Retry-After"), h.Get("Content-Type"))
		}
		if !strings.Contains(body, `"code":"TOOMANYREQUESTS"`) || !strings.Contains(body, wantMessage) {
			t.Errorf("%s: body %s", who, body)
		}
	}
	checkRefused("alice's third upload", adminUser, adminPass, "this account (2)")
	// alice may still pull, and bob may upload.
	if code := status(t, g.Client, g.URL+"/v2/"+adminUser+"/capped/tags/list", adminUser, adminPass); code == http.StatusTooManyRequests {
		t.Error("alice's pull was refused while her uploads were capped")
	}
	held = append(held, hold(plainUser, plainPass))
	waitMetric("portcullis_uploads_in_flight", 3)
	checkRefused("bob's upload past the total", plainUser, plainPass, "the gateway (3)")

	// The stalled uploads end (their clients close): slots come back.
	for _, s := range held {
		s.close()
	}
	waitMetric("portcullis_uploads_in_flight", 0)
	if _, code, _ := g.startUpload(t, g.Client, adminUser, adminPass, adminUser+"/capped"); code != http.StatusAccepted {
		t.Errorf("alice's upload once hers ended: %d", code)
	}
	// go-containerregistry pushes an image's blobs in parallel, more than the cap of 2:
	// some are answered 429, and its retries complete the push.
	g.pushGGCR(t, adminUser+"/capped:1", adminUser, adminPass, 4)
	hits := metric(t, metricsAddr, `portcullis_limit_hits_total{limit="uploads"}`)
	if hits < 2 {
		t.Errorf("uploads limit hits = %v, want at least 2", hits)
	}
	t.Logf("uploads refused: %v (2 by the test, the rest from go-containerregistry's parallel push, which retried)", hits)
	limited := 0
	for line := range strings.SplitSeq(g.Log(), "\n") {
		if strings.Contains(line, "outcome=limited") && strings.Contains(line, "status=429") &&
			(strings.Contains(line, "principal="+adminUser+" ") || strings.Contains(line, "principal="+plainUser+" ")) {
			limited++
		}
	}
	if float64(limited) != hits {
		t.Errorf("%d access log lines for the refusals with their principal, want %v:\n%s", limited, hits, g.LogTail(20))
	}
}

// TestConnsPerIP: past max_conns_per_ip, a connection from the same address is closed
// before the TLS handshake, while another address is served; closing one makes room.
func TestConnsPerIP(t *testing.T) {
	metricsAddr := freeAddr(t)
	g := startGateway(t, t.TempDir(), append(authFlags(t), "--max-conns-per-ip", "4", "--metrics-listen", metricsAddr)...)
	g.Client.CloseIdleConnections() // waitReady's connection counts too
	dialFrom := func(src string) (*tls.Conn, error) {
		d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		return tls.DialWithDialer(d, "tcp", g.Addr, g.tlsConfig("http/1.1"))
	}
	var open []*tls.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	// Connections closed just before may still count until the gateway notices.
	deadline := time.Now().Add(30 * time.Second)
	for len(open) < 4 {
		c, err := dialFrom("127.0.0.1")
		if err != nil {
			if time.Now().After(deadline) {
				t.Fatalf("connection %d under the cap: %v", len(open)+1, err)
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		open = append(open, c)
	}
	if c, err := dialFrom("127.0.0.1"); err == nil {
		c.Close()
		t.Fatal("a fifth connection from 127.0.0.1 was served with max-conns-per-ip 4")
	}
	other, err := dialFrom("127.0.0.2")
	if err != nil {
		t.Fatalf("a connection from 127.0.0.2 while 127.0.0.1 is at its cap: %v", err)
	}
	other.Close()
	open[0].Close()
	open = open[1:]
	deadline = time.Now().Add(30 * time.Second)
	for {
		c, err := dialFrom("127.0.0.1")
		if err == nil {
			open = append(open, c)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no room after a connection closed: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := metric(t, metricsAddr, `portcullis_limit_hits_total{limit="conns_per_ip"}`); n < 1 {
		t.Errorf("conns_per_ip hits = %v, want at least 1", n)
	}
}

// TestHeaderTimeout: a client that opens HTTP/2 and never sends a request's HEADERS is
// closed after header_timeout, as an HTTP/1.1 client that never finishes its headers is
// (before the fix HTTP/2 waited the 2-minute idle timeout).
func TestHeaderTimeout(t *testing.T) {
	g := startGateway(t, t.TempDir(), append(authFlags(t), "--header-timeout", "2s")...)
	closedWithin := func(c net.Conn, bound time.Duration) bool {
		c.SetReadDeadline(time.Now().Add(bound))
		_, err := io.Copy(io.Discard, c)
		ne, ok := err.(net.Error)
		return !ok || !ne.Timeout()
	}
	const bound = 60 * time.Second // generous; before the fix HTTP/2 took 121 s
	h2Start := func(c net.Conn) *http2.Framer {
		c.Write([]byte(http2.ClientPreface))
		fr := http2.NewFramer(c, nil)
		fr.WriteSettings()
		return fr
	}
	for _, tc := range []struct {
		name  string
		proto string
		send  func(c net.Conn)
	}{
		{"HTTP/2 preface, no HEADERS", "h2", func(c net.Conn) { h2Start(c) }},
		{"HTTP/2 HEADERS never finished", "h2", func(c net.Conn) {
			// A HEADERS frame without END_HEADERS, and no CONTINUATION after it.
			h2Start(c).WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0x82}, EndHeaders: false})
		}},
		{"HTTP/1.1 headers never finished", "http/1.1", func(c net.Conn) { c.Write([]byte("GET /v2/ HTTP/1.1\r\nHost: x\r\n")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := tls.Dial("tcp", g.Addr, g.tlsConfig(tc.proto))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if p := c.ConnectionState().NegotiatedProtocol; p != tc.proto {
				t.Fatalf("negotiated %q", p)
			}
			tc.send(c)
			if !closedWithin(c, bound) {
				t.Fatalf("still open after %v", bound)
			}
		})
	}
	// A well-behaved client is unaffected.
	if code := status(t, g.Client, g.URL+"/v2/", adminUser, adminPass); code != http.StatusOK {
		t.Errorf("GET /v2/: %d", code)
	}
}
