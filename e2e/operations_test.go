package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// sinkReceiver takes the audit webhook's batches (/audit) and the notification
// envelopes (/notify).
type sinkReceiver struct {
	mu     sync.Mutex
	seqs   map[uint64]bool
	events []string // action repository tag
}

func (s *sinkReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.URL.Path {
	case "/audit":
		var recs []struct {
			Seq uint64 `json:"seq"`
		}
		if json.Unmarshal(body, &recs) != nil {
			http.Error(w, "bad batch", http.StatusBadRequest)
			return
		}
		for _, rec := range recs {
			s.seqs[rec.Seq] = true
		}
	case "/notify":
		var env struct {
			Events []struct {
				Action string `json:"action"`
				Target struct {
					Repository string `json:"repository"`
					Tag        string `json:"tag"`
				} `json:"target"`
				Actor struct {
					Name string `json:"name"`
				} `json:"actor"`
			} `json:"events"`
		}
		if json.Unmarshal(body, &env) != nil || r.Header.Get("Content-Type") != "application/vnd.docker.distribution.events.v1+json" {
			http.Error(w, "bad envelope", http.StatusBadRequest)
			return
		}
		for _, e := range env.Events {
			s.events = append(s.events, e.Action+" "+e.Target.Repository+" "+e.Target.Tag+" by "+e.Actor.Name)
		}
	}
}

func (s *sinkReceiver) state() (int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seqs), append([]string(nil), s.events...)
}

// getOps fetches url (on the operations listener) and returns status and body.
func getOps(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAuditOperations runs the binary with every audit sink and a notification
// endpoint whose receiver is down: /healthz and /readyz answer on the metrics listener,
// /metrics exports every metric the Grafana dashboard queries, SIGTERM spills what the
// dead receiver never took, and the next start sends it all once the receiver is up.
func TestAuditOperations(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	logFile := filepath.Join(t.TempDir(), "audit.log")
	recv, metricsAddr := freeAddr(t), freeAddr(t)
	cfg := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `audit_log: %s
audit_webhook: http://%s/audit
audit_webhook_headers: {X-Test: e2e}
notifications:
  endpoints:
    - name: ci
      url: http://%s/notify
      timeout: 1s
      threshold: 2
      backoff: 100ms
      ignore:
        actions: [pull]
`, logFile, recv, recv), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, data, append(authFlags(t), "--config", cfg, "--metrics-listen", metricsAddr)...)
	ops := "http://" + metricsAddr

	if code, body := getOps(t, ops+"/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Errorf("/healthz: %d %s", code, body)
	}
	code, body := getOps(t, ops+"/readyz")
	var ready struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	json.Unmarshal([]byte(body), &ready)
	if code != 200 || ready.Status != "ready" {
		t.Errorf("/readyz: %d %s", code, body)
	}
	for _, c := range []string{"backend", "certificate", "users", "policy", "audit"} {
		if ready.Checks[c] != "ok" {
			t.Errorf("/readyz check %s: %q", c, ready.Checks[c])
		}
	}

	g.pushGGCR(t, adminUser+"/ops:1", adminUser, adminPass, 2)
	if resp := g.request(t, http.MethodGet, "/v2/", adminUser, "wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", resp.StatusCode)
	}

	_, metrics := getOps(t, ops+"/metrics")
	if !regexp.MustCompile(`(?m)^portcullis_login_failures_total\{method="basic"\} [1-9]`).MatchString(metrics) {
		t.Error("/metrics does not count the failed basic login")
	}
	if !regexp.MustCompile(`(?m)^portcullis_audit_written_total\{sink="file"\} [1-9]`).MatchString(metrics) {
		t.Error("/metrics does not count records written to the file")
	}
	checkDashboard(t, metrics)

	g.Stop()
	// The state of a trail is named after its log file (replicas may share DATA).
	spills := []string{"audit.log.webhook.jsonl", filepath.Join("audit.log", "notify-ci.jsonl")}
	for _, f := range spills {
		if st, err := os.Stat(filepath.Join(data, "audit", "spill", f)); err != nil || st.Size() == 0 {
			t.Errorf("no spill file %s after SIGTERM with the receiver down: %v", f, err)
		}
	}
	written := len(readAuditLines(t, logFile))

	// The receiver comes up; the next start sends the spill first.
	rcv := &sinkReceiver{seqs: map[uint64]bool{}}
	ln, err := net.Listen("tcp", recv)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rcv}
	go srv.Serve(ln)
	defer srv.Close()
	g.Start()
	deadline := time.Now().Add(time.Minute)
	for {
		seqs, events := rcv.state()
		if seqs > written && len(events) >= 4 { // the first run's records and the new start checkpoint
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after restart the receiver has %d audit records (want > %d) and notifications %q", seqs, written, events)
		}
		time.Sleep(20 * time.Millisecond) // delivery runs on the gateway's own goroutines
	}
	_, events := rcv.state()
	t.Logf("notifications: %q", events)
	if !slicesContains(events, "push "+adminUser+"/ops 1 by "+adminUser) {
		t.Errorf("no push notification for the tag, by the authenticated actor: %q", events)
	}
	for _, e := range events {
		if strings.HasPrefix(e, "pull ") {
			t.Errorf("ignore.actions [pull] let a pull through: %s", e)
		}
	}
	for _, f := range spills {
		if _, err := os.Stat(filepath.Join(data, "audit", "spill", f)); !os.IsNotExist(err) {
			t.Errorf("spill file %s still there after it was sent: %v", f, err)
		}
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func readAuditLines(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// checkDashboard fails for every metric deploy/grafana/portcullis.json queries that
// /metrics does not export.
func checkDashboard(t *testing.T, metrics string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "grafana", "portcullis.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	exported := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (\S+) `).FindAllStringSubmatch(metrics, -1) {
		exported[m[1]] = true
	}
	name := regexp.MustCompile(`\b(?:portcullis|go|process)_[a-z_]+\b`)
	n := 0
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, tg := range p.Targets {
			for _, m := range name.FindAllString(tg.Expr, -1) {
				family := m
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if base, ok := strings.CutSuffix(m, suffix); ok && exported[base] {
						family = base
					}
				}
				n++
				if !exported[family] {
					t.Errorf("panel %q queries %s, which /metrics does not export", p.Title, m)
				}
			}
		}
	}
	t.Logf("the dashboard's %d panels query %d metric names, all exported", len(dash.Panels), n)
}
