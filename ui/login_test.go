package ui

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/gateway"
)

// loginFunc adapts a function to Login.
type loginFunc func(ctx context.Context, user, pass string) (access.Principal, error)

func (f loginFunc) Login(ctx context.Context, user, pass string) (access.Principal, error) {
	return f(ctx, user, pass)
}

func newTestUI(t *testing.T, login Login, mod ...func(*Config)) http.Handler {
	t.Helper()
	cfg := Config{
		Pipeline:   http.NotFoundHandler(),
		Authorizer: gateway.AllowAuthenticated{},
		Login:      login,
		KeyFile:    filepath.Join(t.TempDir(), "session.key"),
		Logger:     slog.New(slog.DiscardHandler),
	}
	for _, m := range mod {
		m(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// postLogin posts the sign-in form with a matching double-submit cookie.
func postLogin(h http.Handler, user, pass string) *httptest.ResponseRecorder {
	tok := strings.Repeat("0f", 16)
	r := httptest.NewRequest(http.MethodPost, "/ui/login", strings.NewReader(url.Values{
		"csrf": {tok}, "username": {user}, "password": {pass}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(&http.Cookie{Name: csrfCookie, Value: tok})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestLoginAnswers(t *testing.T) {
	var gotIP bool
	var failures []string
	h := newTestUI(t, loginFunc(func(ctx context.Context, user, pass string) (access.Principal, error) {
		_, gotIP = access.ClientIP(ctx)
		switch {
		case user == "slow":
			return access.Principal{}, &access.ThrottledError{RetryAfter: 30 * time.Second, Account: user}
		case user == "broken":
			return access.Principal{}, errors.New("users file unreadable")
		case user == "alice" && pass == "right":
			return access.Principal{Name: "alice", Method: access.MethodBasic}, nil
		}
		return access.Principal{}, &access.BadCredentialsError{Account: user}
	}), func(c *Config) {
		c.OnLoginFailed = func(_ context.Context, f LoginFailure) {
			failures = append(failures, f.Account+" "+strconv.Itoa(f.Status))
		}
	})
	for _, tc := range []struct {
		user, pass string
		code       int
		text       string
	}{
		{"slow", "x", http.StatusTooManyRequests, "Try again in 30 seconds"},
		{"broken", "x", http.StatusInternalServerError, "could not check the password"},
		{"alice", "pw-Xq7-wrong", http.StatusUnauthorized, "unknown user or wrong password"},
		{"nobody", "pw-Xq7-wrong", http.StatusUnauthorized, "unknown user or wrong password"},
		{"alice", "right", http.StatusSeeOther, ""},
	} {
		w := postLogin(h, tc.user, tc.pass)
		if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.text) {
			t.Errorf("%s/%s: %d %s", tc.user, tc.pass, w.Code, w.Body)
		}
		if tc.code == http.StatusTooManyRequests && w.Header().Get("Retry-After") != "30" {
			t.Errorf("Retry-After %q", w.Header().Get("Retry-After"))
		}
		if strings.Contains(w.Body.String(), tc.pass) && tc.pass != "x" {
			t.Errorf("%s: the password is echoed", tc.user)
		}
	}
	if got := strings.Join(failures, ","); got != "slow 429,alice 401,nobody 401" {
		t.Errorf("failures reported: %q", got)
	}
	if !gotIP {
		t.Error("Login got no client address for its throttle")
	}
}

// TestStatic serves the embedded stylesheet and script with the UI's headers, and no
// listing of the directory.
func TestStatic(t *testing.T) {
	h := newTestUI(t, loginFunc(func(context.Context, string, string) (access.Principal, error) {
		return access.Principal{}, access.ErrBadCredentials
	}))
	for path, want := range map[string]int{"/ui/static/app.css": 200, "/ui/static/app.js": 200, "/ui/static/": 404, "/ui/static/nope.js": 404} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != want || w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d, want %d", path, w.Code, want)
		}
	}
}
