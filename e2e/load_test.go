package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// requireGuessThrottling makes TestLoad assert the honest clients' p99 with guessers
// within 2x of their p99 without. It needs failed logins throttled (issue 12 fault 3):
// without that every guess costs a bcrypt verification and the guessers take the CPU.
const requireGuessThrottling = true

// Load test shape (issue 12): 1,000 honest clients, each on its own keep-alive TLS
// connection, spread over 8 source addresses (125 each, under the default per-address
// connection cap), as 20 users (50 clients each, under the default 64 uploads per user).
// Each client loops: a manifest HEAD (50%), a 16 KiB blob GET (40%) or a small push (10%:
// a 4 KiB blob, monolithic, then a manifest), then thinks 1-3 s, as CI jobs do rather
// than hammering: about 500 operations a second in all, which leaves the two cores some
// headroom (a push costs several fsyncs, about 3 ms each on the CI disk). The guessers are
// 16 clients on 4 other addresses trying wrong passwords for real and made-up accounts
// with no pause at all. Phases alternate, 10 s without guessers, 10 s with, three times
// each (30 s of each), so that whatever else runs on the machine weighs on both alike;
// .ci/run runs this test alone, after the other packages (PORTCULLIS_LOAD_TEST=later).
const (
	loadClients    = 1000
	loadUsers      = 20
	loadClientIPs  = 8
	loadGuessers   = 16
	loadGuesserIPs = 4
	loadWindow     = 10 * time.Second
	loadRounds     = 3
	loadThinkMin   = 1 * time.Second
	loadThinkMax   = 3 * time.Second
	loadBlobSize   = 16 << 10
	loadPushSize   = 4 << 10
	// loadRSSBound: about 100 KiB per connection (TLS and bufio state, two goroutines)
	// for 1,016 connections, the uploads in flight (a few dozen at 4 KiB, each with one
	// 256 KiB gathering buffer at most), the auth cache and the Go runtime's headroom.
	loadRSSBound = 400 << 20
)

// cpuTime is the CPU time the gateway process has used (user and system).
func (g *gateway) cpuTime(t *testing.T) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", g.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("reading the gateway's CPU time: %v", err)
	}
	// Fields after the command name (which is in parentheses): state is field 3, utime 14,
	// stime 15, in clock ticks (100 a second on Linux).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	var ticks int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("/proc/PID/stat: %v", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

type loadSample struct {
	op      string
	guessed bool // started while the guessers ran
	d       time.Duration
}

type loadStats struct {
	mu      sync.Mutex
	samples []loadSample
	errors  map[string]int // first words of each error, counted
	nErrors atomic.Int64
}

func (s *loadStats) add(op string, guessed bool, d time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.nErrors.Add(1)
		if s.errors == nil {
			s.errors = map[string]int{}
		}
		msg := err.Error()
		if len(msg) > 120 {
			msg = msg[:120]
		}
		s.errors[op+": "+msg]++
		return
	}
	s.samples = append(s.samples, loadSample{op, guessed, d})
}

// percentiles of the samples matching keep: count, p50, p90, p99, max.
func (s *loadStats) percentiles(keep func(loadSample) bool) (int, [4]time.Duration) {
	s.mu.Lock()
	var ds []time.Duration
	for _, x := range s.samples {
		if keep(x) {
			ds = append(ds, x.d)
		}
	}
	s.mu.Unlock()
	slices.Sort(ds)
	var p [4]time.Duration
	if len(ds) == 0 {
		return 0, p
	}
	at := func(q float64) time.Duration { return ds[min(len(ds)-1, int(math.Ceil(q*float64(len(ds))))-1)] }
	return len(ds), [4]time.Duration{at(0.50), at(0.90), at(0.99), ds[len(ds)-1]}
}

// loadClient is one honest client: its own transport (one keep-alive connection) from a
// source address, and its account.
type loadClient struct {
	g          *gateway
	client     *http.Client
	user, pass string
	repo       string
	config     string // the seeded config blob's digest
	layer      string // the seeded layer's digest
	id         int
	pushes     int
}

func newLoadTransport(g *gateway, src string) *http.Transport {
	d := &net.Dialer{Timeout: 30 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	return &http.Transport{
		DialContext:         d.DialContext,
		TLSClientConfig:     g.tlsConfig("http/1.1"),
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     time.Minute,
	}
}

func (c *loadClient) do(ctx context.Context, method, path string, body []byte, contentType string, want int) error {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.g.URL+path, r)
	if err != nil {
		return err
	}
	req.SetBasicAuth(c.user, c.pass)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s", method, strings.SplitN(path, "?", 2)[0], resp.Status)
	}
	return err
}

// ociManifest is an OCI image manifest of seedConfig and one layer.
func ociManifest(config, layer string, layerSize int) []byte {
	return fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":%q,"size":%d}]}`,
		manifestType, config, len(seedConfig), layer, layerSize)
}

const manifestType = "application/vnd.oci.image.manifest.v1+json"

// seedConfig is every seeded image's config blob.
var seedConfig = []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)

// op runs one operation of the mix and names it.
func (c *loadClient) op(ctx context.Context, rng *mrand.Rand) (string, error) {
	switch x := rng.IntN(100); {
	case x < 50:
		return "manifest HEAD", c.do(ctx, "HEAD", "/v2/"+c.repo+"/manifests/seed", nil, "", http.StatusOK)
	case x < 90:
		return "blob GET", c.do(ctx, "GET", "/v2/"+c.repo+"/blobs/"+c.layer, nil, "", http.StatusOK)
	default:
		c.pushes++
		blob := make([]byte, loadPushSize)
		rand.Read(blob)
		d := sha256Hex(blob)
		if err := c.do(ctx, "POST", "/v2/"+c.repo+"/blobs/uploads/?digest="+d, blob, "application/octet-stream", http.StatusCreated); err != nil {
			return "push", err
		}
		tag := fmt.Sprintf("c%d-%d", c.id, c.pushes%3) // a few tags per client, overwritten
		return "push", c.do(ctx, "PUT", "/v2/"+c.repo+"/manifests/"+tag, ociManifest(c.config, d, loadPushSize), manifestType, http.StatusCreated)
	}
}

// TestLoad: 1,000 honest clients through TLS with Basic auth for 30 s without guessers
// and 30 s with 16 password guessers, alternating: zero errors for the honest clients,
// RSS under loadRSSBound, and (once failed logins are throttled, see
// requireGuessThrottling) their p99 with guessers within 2x of without. The figures are
// logged.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("the load test takes about two minutes")
	}
	if os.Getenv("PORTCULLIS_LOAD_TEST") == "later" {
		// .ci/run runs it alone after the other packages: latency percentiles mean little
		// while another package's tests share the two cores.
		t.Skip("PORTCULLIS_LOAD_TEST=later: run on its own afterwards")
	}
	dir := t.TempDir()
	htpasswd := filepath.Join(dir, "htpasswd")
	users := map[string]string{}
	var lines strings.Builder
	for i := range loadUsers {
		u, p := fmt.Sprintf("load%02d", i), fmt.Sprintf("load-pass-%02d", i)
		users[u] = p
		// The gateway's default cost (`gateway passwd`): what a guess costs for real.
		h, err := bcrypt.GenerateFromPassword([]byte(p), bcrypt.DefaultCost)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&lines, "%s:%s\n", u, h)
	}
	if err := os.WriteFile(htpasswd, []byte(lines.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, filepath.Join(dir, "data"), "--htpasswd", htpasswd, "--log-level", "warn")

	// Seed each user's repository: config, a 16 KiB layer, a manifest tagged seed.
	layer := make([]byte, loadBlobSize)
	rand.Read(layer)
	layerDigest, configDigest := sha256Hex(layer), sha256Hex(seedConfig)
	for u, p := range users {
		c := &loadClient{g: g, client: g.Client, user: u, pass: p, repo: u + "/app"}
		for _, b := range [][]byte{seedConfig, layer} {
			if err := c.do(t.Context(), "POST", "/v2/"+c.repo+"/blobs/uploads/?digest="+sha256Hex(b), b, "application/octet-stream", http.StatusCreated); err != nil {
				t.Fatalf("seeding %s: %v", u, err)
			}
		}
		m := ociManifest(configDigest, layerDigest, loadBlobSize)
		if err := c.do(t.Context(), "PUT", "/v2/"+c.repo+"/manifests/seed", m, manifestType, http.StatusCreated); err != nil {
			t.Fatalf("seeding %s: %v", u, err)
		}
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for u := range users {
			if !yield(u) {
				return
			}
		}
	})

	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	// Latencies count from the first phase on: the warm-up holds every client's TLS
	// handshake and first (uncached) login, which would otherwise be the slowest 6% of the
	// first phase. Errors count from the start.
	var guessing, recording atomic.Bool
	var warmedUp atomic.Int64 // clients done with their first operation
	stats := &loadStats{}
	var wg sync.WaitGroup

	// Honest clients, started over a second so that 1,000 handshakes do not land at once.
	for i := range loadClients {
		u := names[i%loadUsers]
		tr := newLoadTransport(g, fmt.Sprintf("127.0.0.%d", 1+i%loadClientIPs))
		c := &loadClient{g: g, client: &http.Client{Transport: tr, Timeout: time.Minute}, user: u, pass: users[u],
			repo: u + "/app", config: configDigest, layer: layerDigest, id: i}
		wg.Go(func() {
			defer tr.CloseIdleConnections()
			rng := mrand.New(mrand.NewPCG(uint64(i), 1))
			time.Sleep(time.Duration(rng.Int64N(int64(time.Second))))
			for first := true; ctx.Err() == nil; first = false {
				guessed := guessing.Load()
				start := time.Now()
				name, err := c.op(ctx, rng)
				if ctx.Err() != nil {
					return // the run ended mid-request: not the gateway's fault
				}
				if err != nil || recording.Load() {
					stats.add(name, guessed, time.Since(start), err)
				}
				if first {
					warmedUp.Add(1)
				}
				think := loadThinkMin + time.Duration(rng.Int64N(int64(loadThinkMax-loadThinkMin)))
				select {
				case <-ctx.Done():
				case <-time.After(think):
				}
			}
		})
	}

	// Guessers: wrong passwords, real and made-up accounts, no pause, while guessing is on.
	var guesses atomic.Int64
	guessStatus := map[int]int{}
	var gmu sync.Mutex
	on := make(chan struct{})
	var onMu sync.Mutex
	for i := range loadGuessers {
		tr := newLoadTransport(g, fmt.Sprintf("127.0.1.%d", 1+i%loadGuesserIPs))
		client := &http.Client{Transport: tr, Timeout: time.Minute}
		wg.Go(func() {
			defer tr.CloseIdleConnections()
			for n := 0; ; n++ {
				onMu.Lock()
				gate := on
				onMu.Unlock()
				select {
				case <-ctx.Done():
					return
				case <-gate:
				}
				user := names[n%loadUsers]
				if n%2 == 1 {
					user = fmt.Sprintf("nobody%d-%d", i, n)
				}
				req, _ := http.NewRequestWithContext(ctx, "GET", g.URL+"/v2/", nil)
				req.SetBasicAuth(user, fmt.Sprintf("guess-%d-%d", i, n))
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				guesses.Add(1)
				gmu.Lock()
				guessStatus[resp.StatusCode]++
				gmu.Unlock()
			}
		})
	}

	// RSS, sampled through the run.
	var peakRSS atomic.Int64
	wg.Go(func() {
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			peakRSS.Store(max(peakRSS.Load(), g.rssKiB(t)<<10))
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	})

	// Every client has connected, logged in and made its first request (bounded wait).
	for deadline := time.Now().Add(2 * time.Minute); warmedUp.Load() < loadClients; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d clients made a first request within 2 minutes", warmedUp.Load(), loadClients)
		}
	}
	time.Sleep(time.Second) // and the burst of first requests has drained
	recording.Store(true)
	baseRSS := g.rssKiB(t) << 10
	var cpu [2]time.Duration // the gateway's CPU time without and with guessers
	for r := range loadRounds {
		c0 := g.cpuTime(t)
		time.Sleep(loadWindow)
		onMu.Lock()
		close(on) // guessers on
		guessing.Store(true)
		onMu.Unlock()
		c1 := g.cpuTime(t)
		time.Sleep(loadWindow)
		onMu.Lock()
		on = make(chan struct{}) // guessers off
		guessing.Store(false)
		onMu.Unlock()
		c2 := g.cpuTime(t)
		cpu[0] += c1 - c0
		cpu[1] += c2 - c1
		t.Logf("round %d of %d done: %d honest errors so far, %d guesses", r+1, loadRounds, stats.nErrors.Load(), guesses.Load())
	}
	stop()
	wg.Wait()

	report := func(label string, guessed bool) time.Duration {
		var p99 time.Duration
		for _, op := range []string{"", "manifest HEAD", "blob GET", "push"} {
			n, p := stats.percentiles(func(s loadSample) bool { return s.guessed == guessed && (op == "" || s.op == op) })
			name := op
			if name == "" {
				name = "all"
				p99 = p[2]
			}
			t.Logf("%-16s %-13s n=%6d (%5.0f/s)  p50 %8v  p90 %8v  p99 %8v  max %8v", label, name, n,
				float64(n)/(loadRounds*loadWindow).Seconds(), p[0].Round(10*time.Microsecond), p[1].Round(10*time.Microsecond),
				p[2].Round(10*time.Microsecond), p[3].Round(time.Millisecond))
		}
		return p99
	}
	without := report("without guessers", false)
	with := report("with guessers", true)
	gmu.Lock()
	t.Logf("guessers: %d guesses in %v (%.0f/s), answers %v", guesses.Load(), loadRounds*loadWindow, float64(guesses.Load())/(loadRounds*loadWindow).Seconds(), guessStatus)
	throttled := guessStatus[http.StatusTooManyRequests] > 0
	gmu.Unlock()
	t.Logf("gateway RSS: %d MiB with every client connected, peak %d MiB (bound %d MiB)", baseRSS>>20, peakRSS.Load()>>20, loadRSSBound>>20)
	phase := (loadRounds * loadWindow).Seconds()
	t.Logf("gateway CPU: %.2f cores busy without guessers, %.2f with (of 2, the clients running beside it)", cpu[0].Seconds()/phase, cpu[1].Seconds()/phase)
	ratio := float64(with) / float64(max(without, time.Microsecond))
	t.Logf("honest p99: %v without guessers, %v with: %.2fx", without, with, ratio)

	if n := stats.nErrors.Load(); n > 0 {
		t.Errorf("%d honest requests failed: %v", n, stats.errors)
	}
	if peakRSS.Load() > loadRSSBound {
		t.Errorf("gateway RSS peaked at %d MiB, over %d MiB", peakRSS.Load()>>20, loadRSSBound>>20)
	}
	// Each throttled guess is held --login-throttle-delay (1 s by default) before its 429,
	// so a guesser's connection gets about one answer a second, besides what the address
	// buckets let through (20 at once, one per 3 s). Twice that is the bound: it was
	// 235,417 guesses (7,847/s) answered at once, and the honest p99 went 2.45x.
	if bound := 2 * (loadGuessers*int64(phase) + loadGuesserIPs*(20+int64(phase)/3)); guesses.Load() > bound {
		t.Errorf("%d guesses answered while guessing was on, want at most %d: throttled logins are not held", guesses.Load(), bound)
	}
	switch {
	case requireGuessThrottling && ratio > 2:
		t.Errorf("honest p99 with guessers is %.2fx the p99 without (%v against %v), want at most 2x", ratio, with, without)
	case !requireGuessThrottling:
		t.Logf("p99 ratio not asserted: failed logins are not throttled in this build (guesses answered 429: %v); see requireGuessThrottling", throttled)
	}
}
