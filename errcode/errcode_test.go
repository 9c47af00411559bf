package errcode

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWrite(t *testing.T) {
	cause := errors.New("disk on fire")
	cases := []struct {
		name   string
		method string
		errs   []*Error
		status int
		code   Code
	}{
		{"default status", "GET", []*Error{New(NameInvalid, "bad name")}, 400, NameInvalid},
		{"override", "GET", []*Error{New(Unavailable, "upstream down").WithStatus(502)}, 502, Unavailable},
		{"first decides", "PUT", []*Error{New(Denied, "no"), New(Unknown, "x")}, 403, Denied},
		{"unknown code", "GET", []*Error{New("MADE_UP", "?")}, 500, "MADE_UP"},
		{"none", "GET", nil, 500, Unknown},
		{"range", "GET", []*Error{New(RangeInvalid, "416")}, 416, RangeInvalid},
		{"HEAD has no body", "HEAD", []*Error{New(ManifestUnknown, "gone").Wrap(cause)}, 404, ManifestUnknown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			w.Header().Set("Content-Length", "99") // a stale length must not survive
			Write(w, httptest.NewRequest(tc.method, "/v2/", nil), tc.errs...)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
			if w.Header().Get("Content-Length") == "99" {
				t.Fatal("stale Content-Length kept")
			}
			if tc.method == http.MethodHead {
				if w.Body.Len() != 0 {
					t.Fatalf("HEAD body %q", w.Body)
				}
				return
			}
			var env struct {
				Errors []struct {
					Code    Code   `json:"code"`
					Message string `json:"message"`
				} `json:"errors"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || len(env.Errors) == 0 {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if env.Errors[0].Code != tc.code {
				t.Fatalf("code %s, want %s", env.Errors[0].Code, tc.code)
			}
		})
	}
}

// TestCauseStaysInTheLog: the wrapped cause is for errors.Is and the log, never the body.
func TestCauseStaysInTheLog(t *testing.T) {
	cause := errors.New("/var/lib/secret/path: permission denied")
	e := New(Unknown, "internal error").Wrap(cause)
	if !errors.Is(e, cause) {
		t.Fatal("errors.Is lost the cause")
	}
	w := httptest.NewRecorder()
	Write(w, httptest.NewRequest("GET", "/", nil), e)
	if got := w.Body.String(); got != `{"errors":[{"code":"UNKNOWN","message":"internal error"}]}`+"\n" {
		t.Fatalf("body %q", got)
	}
}
