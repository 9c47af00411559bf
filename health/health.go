package health

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// Check is one condition of readiness. Func returns nil when it holds; it must respect
// ctx (the probe's time limit).
type Check struct {
	Name string
	Func func(ctx context.Context) error
}

// Live returns the /healthz handler: 200 {"status":"ok"} while the process serves.
func Live() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		write(w, http.StatusOK, map[string]any{"status": "ok"})
	})
}

// DefaultTimeout bounds a readiness probe.
const DefaultTimeout = 3 * time.Second

// Ready returns the /readyz handler: every check is run, concurrently, within timeout;
// 200 {"status":"ready","checks":{"name":"ok",...}} when all pass, otherwise 503 with
// "not ready" and each failing check's error.
func Ready(timeout time.Duration, checks ...Check) http.Handler {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		results := make([]string, len(checks))
		var wg sync.WaitGroup
		for i, c := range checks {
			wg.Go(func() {
				done := make(chan error, 1)
				go func() { done <- c.Func(ctx) }()
				select {
				case err := <-done:
					if err != nil {
						results[i] = err.Error()
					}
				case <-ctx.Done():
					results[i] = "no answer within " + timeout.String()
				}
			})
		}
		wg.Wait()
		out := map[string]string{}
		status, code := "ready", http.StatusOK
		for i, c := range checks {
			out[c.Name] = "ok"
			if results[i] != "" {
				out[c.Name] = results[i]
				status, code = "not ready", http.StatusServiceUnavailable
			}
		}
		write(w, code, map[string]any{"status": status, "checks": out})
	})
}

func write(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
