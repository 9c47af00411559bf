package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// AuditEnabled reports whether any audit sink is configured.
func (c Config) AuditEnabled() bool {
	return c.AuditLog != "" || c.AuditSyslog != "" || c.AuditWebhook != ""
}

// AuditLogMaxSizeBytes is AuditLogMaxSize in bytes (0: never rotate).
func (c Config) AuditLogMaxSizeBytes() (int64, error) { return ParseSize(c.AuditLogMaxSize) }

// AuditLogKeepCount is AuditLogKeep as a number.
func (c Config) AuditLogKeepCount() int { n, _ := strconv.Atoi(c.AuditLogKeep); return n }

// AuditCheckpointEveryCount is AuditCheckpointEvery as a number.
func (c Config) AuditCheckpointEveryCount() int {
	n, _ := strconv.Atoi(c.AuditCheckpointEvery)
	return n
}

// ParseSize reads a size: a number of bytes, or one with a unit K, M, G (powers of 1000,
// also KB, MB, GB) or KiB, MiB, GiB (powers of 1024).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
		{"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size (write e.g. 100MiB, 1G or 1048576)", s)
	}
	return n * mult, nil
}

// ValidateAudit checks the audit and notification settings alone, for commands that
// need nothing else (gateway gc records what it removed).
func (c Config) ValidateAudit() error {
	var errs []error
	c.validateAudit(func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}, func(key, path string) {
		if path == "" {
			return
		}
		if _, err := os.Stat(path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", key, err))
		}
	})
	return errors.Join(errs...)
}

// validateAudit checks the audit and notification settings.
func (c Config) validateAudit(bad func(key, format string, args ...any), checkFile func(key, path string)) {
	if _, err := c.AuditLogMaxSizeBytes(); err != nil {
		bad("audit_log_max_size", "%v", err)
	}
	if n, err := strconv.Atoi(c.AuditLogKeep); err != nil || n < 1 {
		bad("audit_log_keep", "%q: write a number of files, 1 or more", c.AuditLogKeep)
	}
	if n, err := strconv.Atoi(c.AuditCheckpointEvery); err != nil || n < 1 {
		bad("audit_checkpoint_every", "%q: write a number of records, 1 or more", c.AuditCheckpointEvery)
	}
	if c.AuditSync != "always" && c.AuditSync != "interval" {
		bad("audit_sync", "%q: use always or interval", c.AuditSync)
	}
	if c.AuditSyncInterval <= 0 {
		bad("audit_sync_interval", "must be positive, e.g. 1s")
	}
	if c.AuditFail != "closed" && c.AuditFail != "open" {
		bad("audit_fail", "%q: use closed or open", c.AuditFail)
	}
	switch c.AuditPulls {
	case "all", "manifests", "off":
	default:
		bad("audit_pulls", "%q: use manifests, all or off", c.AuditPulls)
	}
	if c.AuditSyslog != "" {
		u, err := url.Parse(c.AuditSyslog)
		switch {
		case err != nil || u.Hostname() == "":
			bad("audit_syslog", "%q: write udp://host:514, tcp://host:514 or tcp+tls://host:6514", c.AuditSyslog)
		case u.Scheme != "udp" && u.Scheme != "tcp" && u.Scheme != "tcp+tls":
			bad("audit_syslog", "%q: the scheme must be udp, tcp or tcp+tls", c.AuditSyslog)
		case u.Scheme != "tcp+tls" && c.AuditSyslogCA != "":
			bad("audit_syslog_ca", "is set but %q is not tcp+tls://", c.AuditSyslog)
		}
	}
	checkFile("audit_syslog_ca", c.AuditSyslogCA)
	if c.AuditWebhook != "" {
		if u, err := url.Parse(c.AuditWebhook); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("audit_webhook", "%q: write an http:// or https:// URL", c.AuditWebhook)
		}
	}
	if len(c.AuditWebhookHeaders) > 0 && c.AuditWebhook == "" {
		bad("audit_webhook_headers", "are set but audit_webhook is not")
	}
	names := map[string]bool{}
	for i, e := range c.Notifications.Endpoints {
		key := fmt.Sprintf("notifications.endpoints[%d]", i)
		switch {
		case e.Name == "":
			bad(key, "needs a name")
		case names[e.Name]:
			bad(key, "name %q is used twice; names must be unique", e.Name)
		case strings.ContainsAny(e.Name, `/\`) || e.Name == "." || e.Name == "..":
			bad(key, "name %q: no slashes (it names the endpoint's spill file)", e.Name)
		}
		names[e.Name] = true
		if u, err := url.Parse(e.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(key+".url", "%q: write an http:// or https:// URL", e.URL)
		}
		if e.Timeout < 0 || e.Backoff < 0 || e.Threshold < 0 {
			bad(key, "timeout, backoff and threshold may not be negative")
		}
		for _, a := range e.Ignore.Actions {
			switch a {
			case "push", "pull", "delete", "mount":
			default:
				bad(key+".ignore.actions", "%q: use push, pull, delete or mount", a)
			}
		}
	}
}
