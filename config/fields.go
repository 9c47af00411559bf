package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// field ties one Config field to its flag, YAML key and environment variable. A new
// setting is a Config field plus one row in fields: the flag, the key, the variable,
// the help text and the "did you mean" suggestions all come from that row.
type field struct {
	name  string // flag name; the YAML key and the variable are derived from it
	usage string // flag help; a `quoted` word names the value (see flag.UnquoteUsage)
	ptr   any    // *string, *[]string, *time.Duration, *int or *bool inside a Config
}

func (f field) key() string { return strings.ReplaceAll(f.name, "-", "_") }
func (f field) env() string { return envPrefix + strings.ToUpper(f.key()) }

// envPrefix starts every variable of the gateway; configEnv names the file.
const (
	envPrefix = "GATEWAY_"
	configEnv = envPrefix + "CONFIG"
)

func fields(c *Config) []field {
	return []field{
		{"listen", "HTTPS `address` to listen on (HTTP with --tls off)", &c.Listen},
		{"data", "data `directory`: registry storage, certificates, ACME cache, default htpasswd", &c.Data},
		{"htpasswd", "htpasswd `file` of users (default DATA/htpasswd, created with an admin user)", &c.Htpasswd},
		{"empty-htpasswd", "what a users file without users means: refuse (keep the last good users) or allow", &c.EmptyHtpasswd},
		{"login-throttle-ip", "failed logins allowed per client address, as `failures/period` (e.g. 20/1m), or off", &c.LoginThrottleIP},
		{"login-throttle-account", "failed logins allowed per account, as `failures/period` (e.g. 10/1m), or off", &c.LoginThrottleAccount},
		{"login-throttle-delay", "`duration` a throttled login is held before its 429 (0: at once)", &c.LoginThrottleDelay},
		{"groups", "groups `file`: YAML 'admins: [alice]' or lines 'admins: alice bob' (default DATA/groups.yaml if present)", &c.Groups},
		{"policy", "`path` of the Rego policy, a file or a directory of modules (default: the built-in policy)", &c.Policy},
		{"upstream", "`URL` of an upstream registry to front instead of the bundled one, e.g. http://127.0.0.1:5000 or http://mirror:5000/prefix", &c.Upstream},
		{"tls", "TLS `mode`: self-signed, files, acme or off", &c.TLS},
		{"tls-cert", "certificate PEM `file` for --tls files", &c.TLSCert},
		{"tls-key", "private key PEM `file` for --tls files", &c.TLSKey},
		{"tls-client-ca", "CA bundle `file` whose client certificates are accepted (mTLS)", &c.TLSClientCA},
		{"hostname", "`name` clients use to reach the gateway (repeatable; comma-separated in the environment)", &c.Hostname},
		{"public-url", "`URL` clients outside use, named by the startup hints (e.g. https://registry.example.com when a container publishes 443)", &c.PublicURL},
		{"acme-email", "contact `e-mail` for the ACME account", &c.ACMEEmail},
		{"acme-directory", "ACME directory `URL` (default Let's Encrypt)", &c.ACMEDirectory},
		{"http-listen", "plain-HTTP `address` for ACME HTTP-01 and redirects (default :80 with acme; 'off' for none)", &c.HTTPListen},
		{"trusted-proxy", "`CIDR` or address of a proxy whose X-Forwarded-* headers are trusted (repeatable)", &c.TrustedProxy},
		{"realm", "`realm` of the Basic auth challenge", &c.Realm},
		{"metrics-listen", "`address` for Prometheus /metrics (default off)", &c.MetricsListen},
		{"upload-purge-age", "`duration` after which an idle upload of the bundled registry is removed (0: never)", &c.UploadPurgeAge},
		{"upload-purge-interval", "`duration` between looks for idle uploads", &c.UploadPurgeInterval},
		{"shutdown-timeout", "`duration` in-flight requests may take to finish after SIGTERM: 60s, 2m, or 60 for seconds", &c.ShutdownTimeout},
		{"header-timeout", "`duration` a client may take to send a request's headers", &c.HeaderTimeout},
		{"body-idle-timeout", "end a request whose body moves no bytes for this `duration` (0: never)", &c.BodyIdleTimeout},
		{"max-uploads", "uploads in flight at once, in total (`number`; 0: no cap)", &c.MaxUploads},
		{"max-uploads-per-user", "uploads in flight at once per user (`number`; 0: no cap)", &c.MaxUploadsPerUser},
		{"max-conns-per-ip", "connections open at once per client address (`number`; 0: no cap)", &c.MaxConnsPerIP},
		{"ui", "serve the web UI at /ui/ (`true` or false)", &c.UI},
		{"ui-session-ttl", "`duration` a web UI sign-in lasts", &c.UISessionTTL},
		{"log-format", "log `format`: text or json", &c.LogFormat},
		{"log-level", "log `level`: debug, info, warn or error", &c.LogLevel},
		{"auth", "client authentication `mode`: basic, or token (the Docker token flow, tokens from /token)", &c.Auth},
		{"token-realm", "token endpoint `URL` named in challenges (default https://HOST/token, HOST as the client addressed it)", &c.TokenRealm},
		{"token-service", "service `name` tokens are issued for (default: the first --hostname, else localhost)", &c.TokenService},
		{"token-issuer", "issuer `name` (iss) of the tokens", &c.TokenIssuer},
		{"token-ttl", "`duration` an access token is valid", &c.TokenTTL},
		{"token-key", "PEM `file` with the key (and optionally its certificates) to sign tokens (default: generated in DATA/token)", &c.TokenKey},
		{"token-alg", "`algorithm` of generated token keys: ES256 or RS256", &c.TokenAlg},
		{"token-x5c", "put the signing key's certificate (x5c) in clients' tokens, for a registry that verifies them itself against the token CA (registry 2.8); tokens for --upstream always carry it", &c.TokenX5C},
		{"refresh-ttl", "`duration` a refresh token (docker's identity token) is valid", &c.RefreshTTL},
		{"upstream-auth", "what to present --upstream: none, or token (a token for exactly the access granted) (`mode`)", &c.UpstreamAuth},
		{"audit-log", "audit trail `file` ('-' for stdout; default off)", &c.AuditLog},
		{"audit-log-max-size", "rotate the audit log at this `size`, e.g. 100MiB ('0': never; use logrotate and SIGHUP)", &c.AuditLogMaxSize},
		{"audit-log-keep", "`number` of rotated audit logs kept", &c.AuditLogKeep},
		{"audit-sync", "`mode`: always (writes and denials fsynced before the answer) or interval", &c.AuditSync},
		{"audit-sync-interval", "`duration` between writes of queued audit records", &c.AuditSyncInterval},
		{"audit-fail", "`mode`: closed (refuse pushes and deletes while the audit log cannot be written) or open", &c.AuditFail},
		{"audit-pulls", "which reads are audited: `manifests`, all or off", &c.AuditPulls},
		{"audit-checkpoint-every", "`records` between signed audit checkpoints", &c.AuditCheckpointEvery},
		{"audit-syslog", "send audit records to syslog at this `URL`: udp://host:514, tcp://host:514 or tcp+tls://host:6514", &c.AuditSyslog},
		{"audit-syslog-ca", "CA bundle `file` verifying a tcp+tls syslog server", &c.AuditSyslogCA},
		{"audit-webhook", "post audit records in JSON batches to this `URL`", &c.AuditWebhook},
	}
}

// knownKeys and knownEnv are the candidates for "did you mean".
func knownKeys() []string {
	var out []string
	for _, f := range fields(&Config{}) {
		out = append(out, f.key())
	}
	for k := range fileOnly(&Config{}) {
		out = append(out, k)
	}
	return out
}

func knownEnv() []string {
	out := []string{configEnv}
	for _, f := range fields(&Config{}) {
		out = append(out, f.env())
	}
	return out
}

// setText sets the field from the environment's text: lists are comma-separated.
// It returns what is wrong with s, or "".
func (f field) setText(s string) string {
	switch p := f.ptr.(type) {
	case *string:
		*p = s
	case *[]string:
		*p = nil
		for _, v := range strings.Split(s, ",") {
			if v = strings.TrimSpace(v); v != "" {
				*p = append(*p, v)
			}
		}
	case *time.Duration:
		d, err := ParseDuration(s)
		if err != nil {
			return err.Error()
		}
		*p = d
	case *int:
		n, err := ParseCount(s)
		if err != nil {
			return err.Error()
		}
		*p = n
	case *bool:
		b, err := ParseBool(s)
		if err != nil {
			return err.Error()
		}
		*p = b
	default:
		panic(fmt.Sprintf("config: field %s has unsupported type %T", f.name, f.ptr))
	}
	return ""
}

// ParseCount reads a whole number of 0 or more, as the limits take it.
func ParseCount(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a whole number of 0 or more", s)
	}
	return n, nil
}

// ParseBool reads a switch as the environment and the flags take it: true or false, and
// 1/0, yes/no, on/off (any case), as YAML 1.1 files wrote them.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "y", "on":
		return true, nil
	case "false", "0", "no", "n", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", s)
}

// isBool reports whether the field is a switch: its flag may be given without a value
// (--token-x5c), which means true.
func (f field) isBool() bool { _, ok := f.ptr.(*bool); return ok }

// setFlag sets the field from the values of its flag: a list takes every value given
// (the flag repeated), anything else the last.
func (f field) setFlag(vals []string) string {
	if p, ok := f.ptr.(*[]string); ok {
		*p = append([]string(nil), vals...)
		return ""
	}
	return f.setText(vals[len(vals)-1])
}

// text is the field's value as a flag or variable would give it.
func (f field) text() string {
	switch p := f.ptr.(type) {
	case *string:
		return *p
	case *[]string:
		return strings.Join(*p, ",")
	case *time.Duration:
		return formatDuration(*p)
	case *int:
		return strconv.Itoa(*p)
	case *bool:
		if *p {
			return "true"
		}
		return "" // a switch off by default shows no default in --help, as flag.Bool does
	}
	return ""
}

// formatDuration is d as people write it: 60s rather than 1m0s, 2m rather than 2m0s.
func formatDuration(d time.Duration) string {
	if d > 0 && d%time.Second == 0 && d <= 3*time.Minute {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ParseDuration reads a duration as the file, the environment and the flags take it: a
// Go duration ("60s", "2m", "1h30m") or a whole number of seconds ("60").
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		if n > math.MaxInt64/int64(time.Second) || n < math.MinInt64/int64(time.Second) {
			return 0, fmt.Errorf("%q seconds is out of range", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	if d, err := time.ParseDuration(t); err == nil {
		return d, nil
	}
	return 0, fmt.Errorf("%q is not a duration (write e.g. 60s, 2m, or 60 for seconds)", s)
}
