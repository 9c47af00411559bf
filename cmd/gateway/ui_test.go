package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/gateway"
)

// TestServeUI: the web UI is on by default at /ui/ of the listener, a browser's GET /
// goes there, and a sign-in works over the real TLS listener; --ui=false takes it away.
func TestServeUI(t *testing.T) {
	for _, mode := range []string{"basic", "token"} {
		t.Run("on/"+mode, func(t *testing.T) { testServeUI(t, mode) })
	}
	t.Run("off", func(t *testing.T) {
		s := startServe(t, "--ui=false")
		defer func() { s.cancel(); <-s.done }()
		for _, h := range []http.Header{nil, {"Accept": {"text/html"}}} {
			req, _ := http.NewRequest(http.MethodGet, "https://"+s.addr+"/", nil)
			req.Header = h
			resp, err := s.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET / (%v) with --ui=false: %d", h, resp.StatusCode)
			}
		}
		resp, err := s.client.Get("https://" + s.addr + "/ui/login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("/ui/login with --ui=false: %d", resp.StatusCode)
		}
	})
}

func TestUIClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, tc := range []struct{ remote, xff, want string }{
		{"192.0.2.1:5000", "198.51.100.7", "192.0.2.1"},                          // not a proxy: its header is ignored
		{"10.0.0.2:5000", "198.51.100.7", "198.51.100.7"},                        // a proxy: the client it names
		{"10.0.0.2:5000", "203.0.113.9, 198.51.100.7, 10.1.1.1", "198.51.100.7"}, // the nearest untrusted hop
		{"10.0.0.2:5000", "", "10.0.0.2"},
		// as the pipeline reads it (gateway.ClientAddr): an ip:port entry names the client,
		// not the proxy, so one client cannot throttle every sign-in behind the proxy
		{"10.0.0.2:5000", "198.51.100.7:4000", "198.51.100.7"},
	} {
		r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{}}
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := gateway.ClientAddr(r, proxies); got.String() != tc.want {
			t.Errorf("%s %q: %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}

// testServeUI signs in through the UI of a gateway in auth mode mode (token mode wraps
// the authenticator in the bearer challenge: the UI's requests must pass it untouched).
func testServeUI(t *testing.T, mode string) {
	auditLog := filepath.Join(t.TempDir(), "audit.log") // made before serve: removed after it stopped
	s := startServe(t, "--audit-log", auditLog, "--auth", mode)
	defer func() { s.cancel(); <-s.done }()
	base := "https://" + s.addr
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: s.client.Transport, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string, h http.Header) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		for k, v := range h {
			req.Header[k] = v
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, _ := get("/", http.Header{"Accept": {"text/html,application/xhtml+xml"}}); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/ui/" {
		t.Errorf("browser GET /: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := get("/", nil); resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("API GET /: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp, body := get("/ui/login", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("/ui/login: %d %v", resp.StatusCode, resp.Header)
	}
	tok := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(body)
	if tok == nil {
		t.Fatalf("no csrf field:\n%s", body)
	}
	signIn := func(pass string, want int) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+"/ui/login", strings.NewReader(url.Values{
			"csrf": {tok[1]}, "username": {"admin"}, "password": {pass}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", base)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("sign-in: %d, want %d", resp.StatusCode, want)
		}
	}
	signIn("not-the-password", http.StatusUnauthorized)
	signIn(s.pass, http.StatusSeeOther)
	resp, body = get("/ui/repos", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<span id="user">admin</span>`) || !strings.Contains(body, `id="nav-audit"`) {
		t.Errorf("/ui/repos as admin: %d\n%s", resp.StatusCode, body)
	}
	if resp, body = get("/ui/audit", nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "chain verified") {
		t.Errorf("/ui/audit as admin: %d\n%s", resp.StatusCode, body)
	}
	// The failed sign-in reaches the trail (failed logins are written within
	// --audit-sync-interval, 1s).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, body = get("/ui/audit?action=login_failed", nil)
		if strings.Contains(body, `<td class="user">admin</td><td class="action">login_failed</td>`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no login_failed record from the UI:\n%s", body)
		}
	}
	fi, err := os.Stat(filepath.Join(s.dir, "ui", "session.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("session key: %v %v", fi, err)
	}
}
