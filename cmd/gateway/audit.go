package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/portcullis/portcullis/audit"
	"github.com/portcullis/portcullis/certs"
	"github.com/portcullis/portcullis/config"
	"github.com/portcullis/portcullis/internal/reload"
	"github.com/portcullis/portcullis/notify"
	"github.com/portcullis/portcullis/server"
)

// auditDir is where the checkpoint key, the chain's head and the spill files live:
// beside the data, apart from the log.
func auditDir(cfg config.Config) string { return filepath.Join(cfg.Data, "audit") }

// closeTimeout is how long remote audit sinks and notification endpoints may take to
// deliver their queues at shutdown before the rest is spilled.
const closeTimeout = 5 * time.Second

// buildTrail opens the audit trail; nil when no audit sink is configured.
func buildTrail(cfg config.Config, logger *slog.Logger) (*audit.Trail, error) {
	if !cfg.AuditEnabled() {
		return nil, nil
	}
	maxSize, _ := cfg.AuditLogMaxSizeBytes() // validated
	ac := audit.Config{
		File:            cfg.AuditLog,
		MaxSize:         maxSize,
		Keep:            cfg.AuditLogKeepCount(),
		Sync:            audit.SyncMode(cfg.AuditSync),
		SyncInterval:    cfg.AuditSyncInterval,
		FailClosed:      cfg.AuditFail == "closed",
		Pulls:           audit.PullMode(cfg.AuditPulls),
		Dir:             auditDir(cfg),
		CheckpointEvery: cfg.AuditCheckpointEveryCount(),
		Logger:          logger.With("component", "audit"),
	}
	if cfg.AuditSyslog != "" {
		var tc *tls.Config
		if cfg.AuditSyslogCA != "" {
			pool, err := certs.LoadCertPool(cfg.AuditSyslogCA)
			if err != nil {
				return nil, fmt.Errorf("audit_syslog_ca: %w", err)
			}
			tc = &tls.Config{RootCAs: pool}
		}
		s, err := audit.NewSyslog(cfg.AuditSyslog, tc)
		if err != nil {
			return nil, err
		}
		ac.Remotes = append(ac.Remotes, s)
	}
	if cfg.AuditWebhook != "" {
		h := http.Header{}
		for k, v := range cfg.AuditWebhookHeaders {
			h.Set(k, v)
		}
		w, err := audit.NewWebhook(cfg.AuditWebhook, audit.WebhookOptions{Headers: h})
		if err != nil {
			return nil, err
		}
		ac.Remotes = append(ac.Remotes, w)
	}
	t, err := audit.New(ac)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	where := cfg.AuditLog
	if where == "-" {
		where = "stdout"
	}
	logger.Info("audit trail", "log", where, "syslog", cfg.AuditSyslog, "webhook", cfg.AuditWebhook,
		"fail", cfg.AuditFail, "pulls", cfg.AuditPulls, "key", filepath.Join(ac.Dir, audit.PublicKeyFile))
	return t, nil
}

// recordReloads has every reloader that reports its attempts (htpasswd, groups, policy,
// certificate files) record each as a config_reloaded event.
func recordReloads(t *audit.Trail, reloaders []server.Reloader) {
	for _, r := range reloaders {
		rep, ok := r.(interface{ OnReport(func(reload.Report)) })
		if !ok {
			continue
		}
		rep.OnReport(func(rp reload.Report) {
			_ = t.Emit(context.Background(), audit.ReloadEvent(rp)) // a failure is the trail's to log
		})
	}
}

// buildNotifier starts registry:2's notifications; nil when no endpoint is configured.
func buildNotifier(cfg config.Config, backend http.Handler, logger *slog.Logger) (*notify.Notifier, error) {
	var eps []notify.Endpoint
	for _, e := range cfg.Notifications.Endpoints {
		if e.Disabled {
			continue
		}
		eps = append(eps, notify.Endpoint{
			Name: e.Name, URL: e.URL, Headers: http.Header(e.Headers), Timeout: e.Timeout,
			Threshold: e.Threshold, Backoff: e.Backoff,
			IgnoredMediaTypes: append(append([]string(nil), e.IgnoredMediaTypes...), e.Ignore.MediaTypes...),
			IgnoredActions:    e.Ignore.Actions,
		})
	}
	if len(eps) == 0 {
		return nil, nil
	}
	host, _ := os.Hostname()
	_, port, _ := net.SplitHostPort(cfg.Listen)
	n, err := notify.New(notify.Config{
		Endpoints: eps,
		Backend:   backend,
		Source:    notify.Source{Addr: net.JoinHostPort(host, port)},
		// Per audit log, so replicas sharing DATA (each with its own log) keep apart.
		SpillDir: filepath.Join(auditDir(cfg), "spill", audit.StateName(cfg.AuditLog)),
		Logger:   logger.With("component", "notifications"),
	})
	if err != nil {
		return nil, err
	}
	logger.Info("notifications", "endpoints", len(eps))
	return n, nil
}
