package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/audit"
	"github.com/portcullis/portcullis/auth"
	"github.com/portcullis/portcullis/config"
	"github.com/portcullis/portcullis/gateway"
	"github.com/portcullis/portcullis/ui"
)

// uiKeyFile holds the key web UI sessions are signed with, so they survive a restart.
func uiKeyFile(cfg config.Config) string { return filepath.Join(cfg.Data, "ui", "session.key") }

// mountUI puts the web UI (issue 15) in front of next: /ui/ is the UI, and a browser's
// GET / goes to it; everything else is next's. pipeline is the gateway's request
// pipeline, which the UI calls as the signed-in user. next is returned as it is with
// --ui=false.
func mountUI(next, pipeline http.Handler, cfg config.Config, login *auth.Basic, authz gateway.Authorizer,
	proxies []netip.Prefix, trail *audit.Trail, logger *slog.Logger) (http.Handler, error) {
	if !cfg.UI {
		return next, nil
	}
	uc := ui.Config{
		Pipeline:   pipeline,
		Authorizer: authz,
		Login:      login,
		KeyFile:    uiKeyFile(cfg),
		SessionTTL: cfg.UISessionTTL,
		PublicHost: cfg.PublicHost(),
		ClientIP:   func(r *http.Request) netip.Addr { return gateway.ClientAddr(r, proxies) },
		Logger:     logger,
	}
	if trail != nil && cfg.AuditLog != "" && cfg.AuditLog != "-" {
		uc.Audit = &ui.AuditSource{
			Files:         func() []string { return auditFiles(cfg.AuditLog, cfg.AuditLogKeepCount()) },
			PublicKeyFile: filepath.Join(auditDir(cfg), audit.PublicKeyFile),
		}
	}
	if trail != nil {
		uc.OnLoginFailed = func(ctx context.Context, f ui.LoginFailure) {
			ev := audit.Event{Time: f.Time, Kind: audit.KindLoginFailed, Account: f.Account, Auth: "password",
				UserAgent: f.UserAgent, Method: http.MethodPost, Path: "/ui/login", Status: f.Status}
			if f.ClientIP.IsValid() {
				ev.ClientIP = f.ClientIP.String()
			}
			_ = trail.Emit(ctx, ev) // a failure is the trail's to log
		}
	}
	h, err := ui.New(uc)
	if err != nil {
		return nil, fmt.Errorf("web UI: %w", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/ui/"):
			h.ServeHTTP(w, r)
		case r.URL.Path == "/ui" || (r.URL.Path == "/" && r.Method == http.MethodGet && wantsHTML(r)):
			http.Redirect(w, r, "/ui/", http.StatusFound)
		default:
			next.ServeHTTP(w, r)
		}
	}), nil
}

// wantsHTML reports whether a request is a browser's navigation (Accept names text/html).
func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// auditFiles is the audit log and its rotated files (log.1 ... log.keep) that exist.
func auditFiles(log string, keep int) []string {
	var files []string
	for i := keep; i >= 1; i-- {
		name := log + "." + strconv.Itoa(i)
		if _, err := os.Stat(name); err == nil {
			files = append(files, name)
		}
	}
	if _, err := os.Stat(log); err == nil {
		files = append(files, log)
	}
	return files
}
