package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/portcullis/portcullis/audit"
	"github.com/portcullis/portcullis/auth"
	"github.com/portcullis/portcullis/config"
	"github.com/portcullis/portcullis/gateway"
	"github.com/portcullis/portcullis/health"
)

// readiness is what /readyz checks: the backend answers (the upstream's /v2/, or the
// bundled registry's storage is there), the certificate is valid, users and policy are
// loaded, and the audit log can be written.
func readiness(cfg config.Config, ts *tlsSetup, users *auth.Htpasswd, authz gateway.Authorizer, trail *audit.Trail) []health.Check {
	checks := []health.Check{{Name: "backend", Func: backendCheck(cfg)}}
	if ts != nil {
		checks = append(checks, health.Check{Name: "certificate", Func: func(context.Context) error {
			na := ts.notAfter()
			switch {
			case na.IsZero():
				return errors.New("no certificate yet")
			case time.Now().After(na):
				return fmt.Errorf("expired at %s", na.UTC().Format(time.RFC3339))
			}
			return nil
		}})
	}
	// Users and policy are loaded before the gateway listens, and a reload that fails
	// keeps the last good ones: loaded once is loaded.
	checks = append(checks,
		health.Check{Name: "users", Func: func(context.Context) error { return loaded(users != nil, "users") }},
		health.Check{Name: "policy", Func: func(context.Context) error { return loaded(authz != nil, "policy") }})
	if trail != nil {
		checks = append(checks, health.Check{Name: "audit", Func: func(context.Context) error { return trail.Healthy() }})
	}
	return checks
}

func loaded(ok bool, what string) error {
	if !ok {
		return errors.New(what + " not loaded")
	}
	return nil
}

// backendCheck asks the upstream for /v2/ (any answer but a 5xx is an upstream that
// works: 401 means it wants credentials), or checks the bundled registry's directory.
func backendCheck(cfg config.Config) func(context.Context) error {
	if cfg.Upstream == "" {
		root := registryRoot(cfg)
		return func(context.Context) error {
			st, err := os.Stat(root)
			if err != nil {
				return err
			}
			if !st.IsDir() {
				return fmt.Errorf("%s is not a directory", root)
			}
			return nil
		}
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	target := strings.TrimSuffix(cfg.Upstream, "/") + "/v2/"
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("upstream: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			return fmt.Errorf("upstream answered %s", resp.Status)
		}
		return nil
	}
}
