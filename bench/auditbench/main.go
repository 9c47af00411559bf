// Command auditbench measures what the audit trail costs, as ratios within one run: the
// gateway binary with --audit-log FILE --audit-pulls all (every HEAD recorded, pushes
// fsynced before their answer) against the same binary without an audit sink, both
// bundled, TLS with the self-signed CA, a bcrypt cost-10 user (cached after the first
// request), --log-level warn.
//
//	go run ./bench/auditbench [-gateway BIN] [-rounds 3] [-d 8s] [-c 16] [-push-c 4] [-blob 1MiB]
//
// Each round runs, in ABBA order to cancel drift: authenticated manifest HEADs on one
// keep-alive HTTP/1.1 connection per client for -d; then pushes (a blob of -blob bytes
// as one monolithic POST, then a manifest PUT by tag) from -push-c clients for -d. It
// prints every run, the medians, and audited/plain for each. Run it from the repository
// root (bench/audit.sh does).
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	user = "bench"
	pass = "bench-secret"
)

func main() {
	bin := flag.String("gateway", "", "gateway binary (default: go build ./cmd/gateway)")
	rounds := flag.Int("rounds", 3, "rounds (each: both targets, HEAD then push)")
	dur := flag.Duration("d", 8*time.Second, "duration of each measurement")
	conns := flag.Int("c", 16, "HEAD clients")
	pushConns := flag.Int("push-c", 4, "push clients")
	blobSize := flag.Int("blob", 1<<20, "bytes per pushed blob")
	flag.Parse()
	if err := run(*bin, *rounds, *dur, *conns, *pushConns, *blobSize); err != nil {
		fmt.Fprintln(os.Stderr, "auditbench:", err)
		os.Exit(1)
	}
}

type target struct {
	name      string
	url       string
	client    *http.Client
	cmd       *exec.Cmd
	head      []float64 // requests/s per round
	headCPU   []float64 // the gateway's CPU µs per request, per round
	pushRates []float64
	pushCPU   []float64
	audit     string
}

// cpu is the gateway process's CPU time so far (user + system), from /proc.
func (tg *target) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", tg.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	var ut, st int64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

func run(bin string, rounds int, dur time.Duration, conns, pushConns, blobSize int) error {
	tmp, err := os.MkdirTemp("", "auditbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if bin == "" {
		bin = filepath.Join(tmp, "gateway")
		if out, err := exec.Command("go", "build", "-o", bin, "./cmd/gateway").CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %v\n%s", err, out)
		}
	}
	htpasswd := filepath.Join(tmp, "htpasswd")
	cmd := exec.Command(bin, "passwd", "--cost", "10", htpasswd, user)
	cmd.Stdin = strings.NewReader(pass + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("gateway passwd: %v\n%s", err, out)
	}
	groups := filepath.Join(tmp, "groups.yaml")
	os.WriteFile(groups, []byte("admins: ["+user+"]\n"), 0o600)

	plain := &target{name: "no audit"}
	audited := &target{name: "audit file, pulls all", audit: filepath.Join(tmp, "audit", "audit.log")}
	for _, tg := range []*target{plain, audited} {
		if err := tg.start(bin, tmp, htpasswd, groups); err != nil {
			return err
		}
		defer tg.stop()
		if err := tg.seed(); err != nil {
			return err
		}
	}
	fmt.Printf("auditbench: %d rounds, %v per run, %d HEAD clients, %d push clients, %d-byte blobs\n",
		rounds, dur, conns, pushConns, blobSize)
	for r := range rounds {
		order := []*target{plain, audited}
		if r%2 == 1 {
			order = []*target{audited, plain}
		}
		for _, tg := range order {
			c0 := tg.cpu()
			rps, n, bad := tg.heads(dur, conns)
			perOp := float64((tg.cpu() - c0).Microseconds()) / float64(max(n, 1))
			tg.head, tg.headCPU = append(tg.head, rps), append(tg.headCPU, perOp)
			fmt.Printf("round %d  HEAD  %-22s %9.1f req/s     %7.1f µs CPU/req   (non-2xx or errors: %d)\n", r+1, tg.name, rps, perOp, bad)
		}
		slices.Reverse(order)
		for _, tg := range order {
			c0 := tg.cpu()
			pps, n, bad := tg.pushes(dur, pushConns, blobSize, r)
			perOp := float64((tg.cpu() - c0).Microseconds()) / float64(max(n, 1))
			tg.pushRates, tg.pushCPU = append(tg.pushRates, pps), append(tg.pushCPU, perOp)
			fmt.Printf("round %d  push  %-22s %9.1f pushes/s  %7.1f µs CPU/push  (failed: %d)\n", r+1, tg.name, pps, perOp, bad)
		}
	}
	fmt.Printf("\nRatios are audited/plain: of the medians over the rounds, and the median of each round's own ratio.\n")
	fmt.Printf("CPU is the gateway process's user+system time per request (plain/audited: >= 1 means no more CPU).\n\n")
	fmt.Printf("| measure | no audit (median) | audit file, pulls all (median) | ratio of medians | median of round ratios |\n|---|---|---|---|---|\n")
	row := func(what, unit string, a, b []float64, inverse bool) {
		ma, mb := median(a), median(b)
		var rr []float64
		for i := range a {
			if inverse {
				rr = append(rr, a[i]/b[i])
			} else {
				rr = append(rr, b[i]/a[i])
			}
		}
		ratio := mb / ma
		if inverse {
			ratio = ma / mb
		}
		fmt.Printf("| %s | %.1f %s | %.1f %s | %.3f | %.3f |\n", what, ma, unit, mb, unit, ratio, median(rr))
	}
	row(fmt.Sprintf("manifest HEAD rate, cost-10 user, TLS h1.1, %d clients", conns), "req/s", plain.head, audited.head, false)
	row("manifest HEAD, gateway CPU per request (plain/audited)", "µs", plain.headCPU, audited.headCPU, true)
	row(fmt.Sprintf("push rate (%d-byte blob + manifest), %d clients", blobSize, pushConns), "pushes/s", plain.pushRates, audited.pushRates, false)
	row("push, gateway CPU per push (plain/audited)", "µs", plain.pushCPU, audited.pushCPU, true)
	if st, err := os.Stat(audited.audit); err == nil {
		fmt.Printf("\naudit log: %d bytes\n", st.Size())
	}
	return nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func freePort() string {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	defer l.Close()
	return l.Addr().String()
}

func (tg *target) start(bin, tmp, htpasswd, groups string) error {
	data, err := os.MkdirTemp(tmp, "data-")
	if err != nil {
		return err
	}
	addr := freePort()
	args := []string{"serve", "--listen", addr, "--data", data, "--htpasswd", htpasswd, "--groups", groups, "--log-level", "warn"}
	if tg.audit != "" {
		args = append(args, "--audit-log", tg.audit, "--audit-pulls", "all")
	}
	tg.cmd = exec.Command(bin, args...)
	logf, _ := os.Create(filepath.Join(tmp, filepath.Base(data)+".log"))
	tg.cmd.Stdout, tg.cmd.Stderr = logf, logf
	if err := tg.cmd.Start(); err != nil {
		return err
	}
	tg.url = "https://" + addr
	caFile := filepath.Join(data, "certs", "ca.crt")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if pem, err := os.ReadFile(caFile); err == nil {
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(pem)
			tg.client = &http.Client{Timeout: time.Minute, Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 256, DisableCompression: true,
				TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}, // HTTP/1.1
			}}
			if resp, err := tg.client.Get(tg.url + "/v2/"); err == nil {
				resp.Body.Close()
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not start", tg.name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (tg *target) stop() {
	tg.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { tg.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		tg.cmd.Process.Kill()
	}
}

func (tg *target) do(ctx context.Context, method, path, ctype string, body []byte) (int, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, method, tg.url+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body == nil {
		req.Body, req.ContentLength = nil, 0
	}
	req.SetBasicAuth(user, pass)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := tg.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header, nil
}

// push uploads one blob and a manifest naming it (as its config and only layer) to
// repo:tag.
func (tg *target) push(ctx context.Context, repo, tag string, blob []byte) error {
	sum := sha256.Sum256(blob)
	d := "sha256:" + hex.EncodeToString(sum[:])
	if code, _, err := tg.do(ctx, "POST", "/v2/"+repo+"/blobs/uploads/?digest="+d, "application/octet-stream", blob); err != nil || code != 201 {
		return fmt.Errorf("blob: %d %v", code, err)
	}
	m := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":%q,"size":%d}]}`,
		d, len(blob), d, len(blob))
	if code, _, err := tg.do(ctx, "PUT", "/v2/"+repo+"/manifests/"+tag, "application/vnd.oci.image.manifest.v1+json", m); err != nil || code != 201 {
		return fmt.Errorf("manifest: %d %v", code, err)
	}
	return nil
}

func (tg *target) seed() error {
	blob := make([]byte, 1024)
	rand.Read(blob)
	return tg.push(context.Background(), "bench/seed", "v1", blob)
}

// heads runs conns clients doing manifest HEADs for dur and returns requests/s and the
// number of requests.
func (tg *target) heads(dur time.Duration, conns int) (float64, int64, int64) {
	var n, bad atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for ctx.Err() == nil {
				code, _, err := tg.do(ctx, "HEAD", "/v2/bench/seed/manifests/v1", "", nil)
				if ctx.Err() != nil {
					return
				}
				if err != nil || code != 200 {
					bad.Add(1)
					continue
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds(), n.Load(), bad.Load()
}

// pushes runs conns clients pushing for dur and returns pushes/s and the number of pushes.
func (tg *target) pushes(dur time.Duration, conns, size, round int) (float64, int64, int64) {
	var n, bad atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range conns {
		wg.Go(func() {
			blob := make([]byte, size)
			for i := 0; ctx.Err() == nil; i++ {
				rand.Read(blob[:64])
				err := tg.push(ctx, fmt.Sprintf("bench/p%d", c), fmt.Sprintf("r%d-%d", round, i), blob)
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					bad.Add(1)
					continue
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds(), n.Load(), bad.Load()
}
