package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// field ties one Config field to its flag name, environment variable and YAML key.
type field struct {
	name  string // flag name; YAML key and env var are derived from it
	usage string
	ptr   any // *string, *[]string or *time.Duration inside a Config
}

func (f field) key() string { return strings.ReplaceAll(f.name, "-", "_") }
func (f field) env() string { return "GATEWAY_" + strings.ToUpper(f.key()) }

// set parses s into the field. Lists append when add is true (repeated flags) and are
// comma-separated otherwise (environment variables).
func (f field) set(s string, add bool) error {
	switch p := f.ptr.(type) {
	case *string:
		*p = s
	case *[]string:
		if add {
			*p = append(*p, s)
			return nil
		}
		*p = nil
		for _, v := range strings.Split(s, ",") {
			if v = strings.TrimSpace(v); v != "" {
				*p = append(*p, v)
			}
		}
	case *time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration (write e.g. 30s or 2m)", s)
		}
		*p = d
	default:
		panic(fmt.Sprintf("config: field %s has unsupported type %T", f.name, f.ptr))
	}
	return nil
}

func fields(c *Config) []field {
	return []field{
		{"listen", "HTTPS address to listen on", &c.Listen},
		{"data", "data directory (registry storage, certificates, default htpasswd)", &c.Data},
		{"htpasswd", "htpasswd file (default DATA/htpasswd, created with an admin user)", &c.Htpasswd},
		{"groups", "groups file: YAML 'admins: [alice]' or lines 'admins: alice bob'", &c.Groups},
		{"policy", "Rego policy file or directory (default: built-in policy)", &c.Policy},
		{"upstream", "URL of an upstream registry to front instead of the bundled one", &c.Upstream},
		{"tls", "TLS mode: self-signed, files, acme or off", &c.TLS},
		{"tls-cert", "certificate PEM file for --tls files", &c.TLSCert},
		{"tls-key", "private key PEM file for --tls files", &c.TLSKey},
		{"tls-client-ca", "CA bundle for client certificates (mTLS)", &c.TLSClientCA},
		{"hostname", "name clients use to reach the gateway (repeatable)", &c.Hostname},
		{"acme-email", "contact e-mail for the ACME account", &c.ACMEEmail},
		{"acme-directory", "ACME directory URL (default Let's Encrypt)", &c.ACMEDirectory},
		{"http-listen", "plain-HTTP address for ACME HTTP-01 and redirects (default :80 with acme; 'off' for none)", &c.HTTPListen},
		{"trusted-proxy", "address or CIDR of a proxy whose X-Forwarded-* headers are trusted (repeatable)", &c.TrustedProxy},
		{"realm", "realm of the Basic auth challenge", &c.Realm},
		{"metrics-listen", "address for Prometheus /metrics (default off)", &c.MetricsListen},
		{"shutdown-timeout", "how long in-flight requests may finish after SIGTERM", &c.ShutdownTimeout},
		{"log-format", "log format: text or json", &c.LogFormat},
		{"log-level", "log level: debug, info, warn or error", &c.LogLevel},
		{"audit-log", "audit trail file ('-' for stdout; default off)", &c.AuditLog},
		{"audit-log-max-size", "rotate the audit log at this size, e.g. 100MiB ('0': never; use logrotate and SIGHUP)", &c.AuditLogMaxSize},
		{"audit-log-keep", "number of rotated audit logs kept", &c.AuditLogKeep},
		{"audit-sync", "always (writes and denials fsynced before the answer) or interval", &c.AuditSync},
		{"audit-sync-interval", "how often queued audit records are written", &c.AuditSyncInterval},
		{"audit-fail", "closed (refuse pushes and deletes while the audit log cannot be written) or open", &c.AuditFail},
		{"audit-pulls", "which reads are audited: manifests, all or off", &c.AuditPulls},
		{"audit-checkpoint-every", "records between signed audit checkpoints", &c.AuditCheckpointEvery},
		{"audit-syslog", "send audit records to syslog: udp://host:514, tcp://host:514 or tcp+tls://host:6514", &c.AuditSyslog},
		{"audit-syslog-ca", "CA bundle verifying a tcp+tls syslog server", &c.AuditSyslogCA},
		{"audit-webhook", "post audit records in JSON batches to this URL", &c.AuditWebhook},
	}
}

// fileOnlyKeys are structured settings only the configuration file holds: no flag or
// environment variable.
var fileOnlyKeys = map[string]bool{"audit_webhook_headers": true, "notifications": true}

type listFlag struct{ f field }

func (l listFlag) String() string     { return "" }
func (l listFlag) Set(s string) error { return l.f.set(s, true) }

type scalarFlag struct{ f field }

func (s scalarFlag) String() string     { return "" }
func (s scalarFlag) Set(v string) error { return s.f.set(v, false) }

// Loader reads a Config from defaults, a YAML file, the environment and flags.
type Loader struct {
	// Getenv looks up an environment variable; os.LookupEnv in production.
	Getenv func(string) (string, bool)
	flags  Config // values given on the command line
	file   string
	fs     *flag.FlagSet
}

// NewLoader registers every configuration flag, and --config, on fs.
func NewLoader(fs *flag.FlagSet, getenv func(string) (string, bool)) *Loader {
	l := &Loader{Getenv: getenv, fs: fs}
	fs.StringVar(&l.file, "config", "", "YAML configuration file (flags win over it; GATEWAY_* variables sit in between)")
	for _, f := range fields(&l.flags) {
		if _, ok := f.ptr.(*[]string); ok {
			fs.Var(listFlag{f}, f.name, f.usage)
		} else {
			fs.Var(scalarFlag{f}, f.name, f.usage)
		}
	}
	return l
}

// Load builds the Config after fs.Parse. It does not validate; call Validate.
func (l *Loader) Load() (Config, error) {
	c := Defaults()
	file := l.file
	if file == "" {
		file, _ = l.Getenv("GATEWAY_CONFIG")
	}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return c, fmt.Errorf("reading config file: %w", err)
		}
		if err := Parse(data, &c); err != nil {
			return c, fmt.Errorf("config file %s: %w", file, err)
		}
	}
	var errs []error
	for _, f := range fields(&c) {
		if v, ok := l.Getenv(f.env()); ok {
			if err := f.set(v, false); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", f.env(), err))
			}
		}
	}
	given := fields(&l.flags)
	target := fields(&c)
	l.fs.Visit(func(fl *flag.Flag) {
		for i, f := range given {
			if f.name == fl.Name {
				copyValue(target[i].ptr, f.ptr)
			}
		}
	})
	return c, errors.Join(errs...)
}

func copyValue(dst, src any) {
	switch d := dst.(type) {
	case *string:
		*d = *src.(*string)
	case *[]string:
		*d = append([]string(nil), *src.(*[]string)...)
	case *time.Duration:
		*d = *src.(*time.Duration)
	}
}

// Parse decodes a YAML document into c, over the values c already holds. Unknown keys are
// errors (a misspelt key must not be silently ignored); so is more than one document.
func Parse(data []byte, c *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file is an empty configuration
		}
		return fmt.Errorf("%w (keys are the flag names with '_' for '-', e.g. tls_cert)", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("the file holds more than one YAML document; keep one")
	}
	return nil
}
