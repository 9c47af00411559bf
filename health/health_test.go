package health

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestProbes(t *testing.T) {
	ok := Check{"backend", func(context.Context) error { return nil }}
	broken := Check{"audit", func(context.Context) error { return errors.New("disk full") }}
	stuck := Check{"upstream", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}
	hung := Check{"hung", func(context.Context) error { select {} }}
	tests := []struct {
		name   string
		h      http.Handler
		code   int
		status string
		checks map[string]string
	}{
		{"live", Live(), 200, "ok", nil},
		{"ready", Ready(time.Second, ok), 200, "ready", map[string]string{"backend": "ok"}},
		{"one fails", Ready(time.Second, ok, broken), 503, "not ready", map[string]string{"backend": "ok", "audit": "disk full"}},
		{"slow check is bounded", Ready(10*time.Millisecond, ok, stuck), 503, "not ready", map[string]string{"backend": "ok", "upstream": "*"}},
		{"a check that ignores ctx", Ready(10*time.Millisecond, hung), 503, "not ready", map[string]string{"hung": "no answer within 10ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			tt.h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
			var body struct {
				Status string            `json:"status"`
				Checks map[string]string `json:"checks"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if w.Code != tt.code || body.Status != tt.status || len(body.Checks) != len(tt.checks) {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			for k, v := range tt.checks {
				if v == "*" && body.Checks[k] != "ok" && body.Checks[k] != "" {
					continue // failed, one way or the other
				}
				if body.Checks[k] != v {
					t.Errorf("%s = %q, want %q", k, body.Checks[k], v)
				}
			}
		})
	}
}
