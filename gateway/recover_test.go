package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRecover(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		status  int
	}{
		{"before headers", func(http.ResponseWriter, *http.Request) { panic("boom") }, 500},
		{"nil map", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "/x")
			var m map[string]int
			m["x"]++
		}, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, logs := newTestGateway(t, tt.handler, nil)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, basic(httptest.NewRequestWithContext(t.Context(), "GET", "/v2/a/tags/list", nil), "alice"))
			if w.Code != tt.status || errorCode(w.Body.String()) != "UNKNOWN" {
				t.Fatalf("status %d body %s", w.Code, w.Body)
			}
			if w.Header().Get("Location") != "" || w.Header().Get("Docker-Distribution-API-Version") == "" {
				t.Fatalf("headers after panic: %v", w.Header())
			}
			if !strings.Contains(logs.String(), "panic serving request") || !strings.Contains(logs.String(), "goroutine") {
				t.Fatalf("panic not logged with stack: %s", logs)
			}
		})
	}
	t.Run("after headers aborts", func(t *testing.T) {
		h, _ := newTestGateway(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("partial"))
			panic("late")
		}), nil)
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Fatalf("recovered %v, want http.ErrAbortHandler", p)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), basic(httptest.NewRequestWithContext(t.Context(), "GET", "/v2/a/tags/list", nil), "alice"))
	})
	t.Run("ErrAbortHandler passes", func(t *testing.T) {
		h, logs := newTestGateway(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }), nil)
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Fatalf("recovered %v", p)
			}
			if strings.Contains(logs.String(), "panic serving request") {
				t.Fatal("ErrAbortHandler logged as a panic")
			}
			if !strings.Contains(logs.String(), `"reason":"response aborted mid-body"`) {
				t.Errorf("the access log does not say the response was aborted:\n%s", logs)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), basic(httptest.NewRequestWithContext(t.Context(), "GET", "/v2/a/tags/list", nil), "alice"))
	})
}
