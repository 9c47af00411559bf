package config

import (
	"os"
	"time"
)

// TLS modes.
const (
	TLSSelfSigned = "self-signed"
	TLSFiles      = "files"
	TLSACME       = "acme"
	TLSOff        = "off"
)

// Config is the whole configuration of `gateway serve`. Each field's YAML key is its flag
// name with '-' written '_' (tls-cert: tls_cert), and its environment variable is
// GATEWAY_ followed by the key in upper case (GATEWAY_TLS_CERT). List values are YAML
// lists, repeated flags, or comma-separated in the environment.
type Config struct {
	// Listen is the HTTPS (or, with tls off, HTTP) address. Default ":8443".
	Listen string `yaml:"listen"`
	// Data is the directory for everything the gateway keeps: the bundled registry's
	// storage (DATA/registry), generated certificates (DATA/certs), the ACME cache
	// (DATA/acme) and the default htpasswd file. Default "./data".
	Data string `yaml:"data"`
	// Htpasswd is the htpasswd file of users (bcrypt, SHA or MD5-crypt entries). Default
	// DATA/htpasswd, created on first start with user "admin" and a random password.
	Htpasswd string `yaml:"htpasswd"`
	// EmptyHtpasswd says what a users file without users means: "refuse" (default) treats
	// it as broken, like a malformed one (the gateway does not start; a reload keeps the last
	// good users and logs a warning), since it is most often a truncated file or a failed
	// copy; "allow" runs with no users (only what the policy grants anonymous callers).
	EmptyHtpasswd string `yaml:"empty_htpasswd"`
	// LoginThrottleIP limits failed logins from one client address (IPv6: per /64) as
	// "failures/period": "20/1m" (default) allows 20 at once, then one more every 3s;
	// beyond it, logins that need a password check get 429 with Retry-After until the
	// bucket refills. "off" for no limit. Cached (already verified) credentials are never
	// held back.
	LoginThrottleIP string `yaml:"login_throttle_ip"`
	// LoginThrottleAccount limits failed logins for one account, from any address, the
	// same way; default "10/1m". An address that logged in to the account recently is not
	// held back by it.
	LoginThrottleAccount string `yaml:"login_throttle_account"`
	// LoginThrottleDelay is how long a login the throttle refuses is held before its 429
	// (never longer than its Retry-After): a guesser then gets about one answer per
	// connection and delay instead of thousands a second, and costs the gateway next to
	// nothing. Default 1s; 0 answers at once.
	LoginThrottleDelay time.Duration `yaml:"login_throttle_delay"`
	// Groups is a file mapping groups to users (YAML "admins: [alice]" or lines
	// "admins: alice bob"); the policy sees a user's groups. Default DATA/groups.yaml when
	// it exists (created on first start with the admin user in group "admins").
	Groups string `yaml:"groups"`
	// Policy is a Rego file or a directory of Rego modules (plus data.json/data.yaml).
	// Empty: the built-in default policy.
	Policy string `yaml:"policy"`
	// Upstream, when set, is the URL of the registry to front (sidecar mode), e.g.
	// http://127.0.0.1:5000. Empty: the bundled registry, served in-process.
	Upstream string `yaml:"upstream"`
	// TLS is one of self-signed (default), files, acme, off.
	TLS string `yaml:"tls"`
	// TLSCert and TLSKey are the PEM files for tls=files; reloaded when they change.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// TLSClientCA, when set, is a PEM bundle of CAs whose client certificates are
	// accepted (mTLS); the certificate's subject reaches the policy.
	TLSClientCA string `yaml:"tls_client_ca"`
	// Hostname lists the names the gateway is reached by: SANs of the self-signed
	// certificate, and the ACME domains.
	Hostname []string `yaml:"hostname"`
	// PublicURL is how clients outside reach the gateway, e.g. https://registry.example.com
	// or https://localhost:443 for a container publishing 443 to its 8443: the startup
	// hints (docker login, certs.d) name it instead of the listen address. Empty: the
	// first hostname (or localhost) with the listen port.
	PublicURL string `yaml:"public_url"`
	// ACMEEmail is the contact address given to the ACME CA.
	ACMEEmail string `yaml:"acme_email"`
	// ACMEDirectory is the ACME directory URL. Default: Let's Encrypt production.
	ACMEDirectory string `yaml:"acme_directory"`
	// HTTPListen is a plain-HTTP address that redirects to HTTPS and answers ACME HTTP-01
	// challenges. Default ":80" with tls=acme, otherwise off.
	HTTPListen string `yaml:"http_listen"`
	// TrustedProxy lists addresses or CIDRs of proxies whose X-Forwarded-* headers are
	// believed. From anyone else those headers are dropped.
	TrustedProxy []string `yaml:"trusted_proxy"`
	// Realm is the realm of the Basic challenge. Default "Portcullis".
	Realm string `yaml:"realm"`
	// MetricsListen is the address of the Prometheus /metrics endpoint. Default off; keep
	// it on a private address.
	MetricsListen string `yaml:"metrics_listen"`
	// UploadPurgeAge is how long an upload session of the bundled registry may sit idle (no
	// chunk received) before it is removed with its data, as registry:2's upload purging
	// does, so abandoned uploads never pin disk space. Default 24h; 0 turns purging off.
	UploadPurgeAge time.Duration `yaml:"upload_purge_age"`
	// UploadPurgeInterval is how often idle sessions are looked for. Default 1h.
	UploadPurgeInterval time.Duration `yaml:"upload_purge_interval"`
	// ShutdownTimeout bounds how long in-flight requests (uploads) may run after SIGTERM.
	// Default 60s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// HeaderTimeout bounds the wait for a request's headers (HTTP/1.1, and HTTP/2's first
	// request on a connection); then the connection is closed. Default 30s.
	HeaderTimeout time.Duration `yaml:"header_timeout"`
	// BodyIdleTimeout ends a request whose body moves no bytes for this long while the
	// gateway waits on the client: an upload that stopped sending, a download that stopped
	// reading. Never a limit on size or on the time of a body that keeps moving. Default
	// 60s; 0 turns it off.
	BodyIdleTimeout time.Duration `yaml:"body_idle_timeout"`
	// MaxUploads caps the uploads (blob and manifest writes) in flight at once; more are
	// answered 429 TOOMANYREQUESTS with Retry-After. Default 512; 0 for no cap.
	MaxUploads int `yaml:"max_uploads"`
	// MaxUploadsPerUser caps the uploads in flight of one user (anonymous: of one client
	// address). Default 64; 0 for no cap.
	MaxUploadsPerUser int `yaml:"max_uploads_per_user"`
	// MaxConnsPerIP caps the connections open at once from one client address (IPv6: one
	// /64); more are closed when accepted. Trusted proxies are not counted. Default 256;
	// 0 for no cap.
	MaxConnsPerIP int `yaml:"max_conns_per_ip"`
	// UI serves the web UI at /ui/ on the listener (issue 15): sign in with the same users,
	// browse what you may pull, delete what the policy lets you delete, read the audit
	// trail. Default true; false leaves /ui/ unserved (404).
	UI bool `yaml:"ui"`
	// UISessionTTL is how long a web UI sign-in lasts. Default 1h.
	UISessionTTL time.Duration `yaml:"ui_session_ttl"`
	// LogFormat is text (default) or json.
	LogFormat string `yaml:"log_format"`
	// LogLevel is debug, info (default), warn or error.
	LogLevel string `yaml:"log_level"`

	// Auth is how clients authenticate: basic (default; a Basic challenge, a password on
	// every request) or token (the Docker token flow: a Bearer challenge, tokens from
	// /token; Basic credentials keep working).
	Auth string `yaml:"auth"`
	// TokenRealm is the URL of the token endpoint clients are sent to. Default
	// https://HOST/token, HOST being what the client addressed; set it behind a load
	// balancer that changes the host.
	TokenRealm string `yaml:"token_realm"`
	// TokenService is the service name tokens are issued for (a registry's
	// auth.token.service). Default: the first hostname, else "localhost".
	TokenService string `yaml:"token_service"`
	// TokenIssuer is the iss of the tokens (a registry's auth.token.issuer). Default
	// "portcullis".
	TokenIssuer string `yaml:"token_issuer"`
	// TokenTTL is an access token's lifetime. Default 5m.
	TokenTTL time.Duration `yaml:"token_ttl"`
	// TokenKey is a PEM private key (and optionally its certificate chain) to sign tokens
	// with. Default: keys generated and rotated in DATA/token.
	TokenKey string `yaml:"token_key"`
	// TokenAlg is the algorithm of generated token keys: ES256 (default) or RS256.
	TokenAlg string `yaml:"token_alg"`
	// TokenX5C puts the signing key's certificate chain (the JWT header's x5c) in the
	// access tokens clients get from /token: what a registry that verifies them itself
	// against the token CA needs (registry 2.8 with its realm at the gateway). Default
	// false: tokens are then about 400 bytes rather than 1.1 KiB on every request. The
	// tokens the gateway presents --upstream (upstream_auth: token) always carry it.
	TokenX5C bool `yaml:"token_x5c"`
	// RefreshTTL is a refresh token's lifetime (docker keeps it as its identity token).
	// Default 720h (30 days).
	RefreshTTL time.Duration `yaml:"refresh_ttl"`
	// UpstreamAuth is what the gateway presents to the upstream registry: none (default)
	// or token (for each request, a short-lived token for exactly the access granted, so
	// a registry with auth: token accepts only what the gateway judged).
	UpstreamAuth string `yaml:"upstream_auth"`
	// TrustedIssuers are external issuers of identity tokens (CI systems' OIDC
	// providers) whose JWTs are accepted as passwords and bearer tokens. In the file
	// only.
	TrustedIssuers []TrustedIssuer `yaml:"trusted_issuers"`

	// AuditLog is the audit trail's file: one JSON line per event, hash-chained, with
	// signed checkpoints (key in DATA/audit). "-" writes it to stdout, apart from the
	// operational log on stderr. Default off.
	AuditLog string `yaml:"audit_log"`
	// AuditLogMaxSize rotates the audit log when it would exceed this size (a number of
	// bytes, or with K, M, G, KiB, MiB, GiB); "0" never rotates: use logrotate, which
	// sends SIGHUP to reopen the file. Default "100MiB".
	AuditLogMaxSize string `yaml:"audit_log_max_size"`
	// AuditLogKeep is how many rotated audit logs are kept (FILE.1 ... FILE.N).
	// Default "10".
	AuditLogKeep string `yaml:"audit_log_keep"`
	// AuditSync is always (default: the record of a push, delete or denial is fsynced
	// before the client is answered; pulls and failed logins within AuditSyncInterval) or
	// interval (everything within AuditSyncInterval).
	AuditSync string `yaml:"audit_sync"`
	// AuditSyncInterval is how often queued records are written. Default 1s.
	AuditSyncInterval time.Duration `yaml:"audit_sync_interval"`
	// AuditFail is closed (default: while the audit log cannot be written, pushes and
	// deletes are refused with 503; pulls continue) or open (writes go on, logged).
	AuditFail string `yaml:"audit_fail"`
	// AuditPulls is manifests (default: one record per manifest read), all (every blob,
	// tags and referrers read too) or off.
	AuditPulls string `yaml:"audit_pulls"`
	// AuditCheckpointEvery is the number of records between signed checkpoints.
	// Default "1000".
	AuditCheckpointEvery string `yaml:"audit_checkpoint_every"`
	// AuditSyslog sends every record to syslog (RFC 5424): udp://host:514,
	// tcp://host:514 or tcp+tls://host:6514.
	AuditSyslog string `yaml:"audit_syslog"`
	// AuditSyslogCA is the CA bundle that verifies a tcp+tls syslog server (default: the
	// system's).
	AuditSyslogCA string `yaml:"audit_syslog_ca"`
	// AuditWebhook posts records in JSON batches to this http(s) URL, retried with
	// backoff.
	AuditWebhook string `yaml:"audit_webhook"`
	// AuditWebhookHeaders are sent with every webhook request (file only), e.g.
	// Authorization.
	AuditWebhookHeaders map[string]string `yaml:"audit_webhook_headers"`

	// Notifications are registry:2's notifications: endpoints that receive push, pull and
	// delete events in its envelope (file only; the same keys as registry:2's
	// configuration, so its section can be copied over).
	Notifications Notifications `yaml:"notifications"`
}

// Authentication modes.
const (
	AuthBasic = "basic"
	AuthToken = "token"
)

// TrustedIssuer is one entry of trusted_issuers.
type TrustedIssuer struct {
	// Issuer is the iss its tokens carry, exactly (e.g.
	// https://token.actions.githubusercontent.com).
	Issuer string `yaml:"issuer"`
	// Exactly one of JWKSURL (https), JWKSFile and Discovery (the issuer's
	// /.well-known/openid-configuration) says where its keys are.
	JWKSURL   string `yaml:"jwks_url,omitempty"`
	JWKSFile  string `yaml:"jwks_file,omitempty"`
	Discovery bool   `yaml:"discovery,omitempty"`
	// CAFile is a PEM bundle trusted, besides the system's, to reach the issuer.
	CAFile string `yaml:"ca_file,omitempty"`
	// Audience is the aud its tokens must carry for this gateway (required).
	Audience string `yaml:"audience"`
	// Algorithms accepted; default [RS256].
	Algorithms []string `yaml:"algorithms,omitempty"`
	// UsernameClaim names the principal (default sub); GroupsClaim carries its groups.
	UsernameClaim string `yaml:"username_claim,omitempty"`
	GroupsClaim   string `yaml:"groups_claim,omitempty"`
}

// Notifications is registry:2's notifications section.
type Notifications struct {
	Endpoints []NotificationEndpoint `yaml:"endpoints"`
}

// NotificationEndpoint is one of registry:2's notification endpoints, with its keys.
type NotificationEndpoint struct {
	// Name identifies the endpoint in logs, metrics and its spill file.
	Name string `yaml:"name"`
	// Disabled keeps the endpoint configured but sends it nothing.
	Disabled bool `yaml:"disabled"`
	// URL receives POSTs of application/vnd.docker.distribution.events.v1+json.
	URL string `yaml:"url"`
	// Headers are added to every request (registry:2 writes them as lists).
	Headers map[string][]string `yaml:"headers"`
	// Timeout bounds one request. Default 1s (registry:2's).
	Timeout time.Duration `yaml:"timeout"`
	// Threshold is how many failures in a row before Backoff is waited. Default 10.
	Threshold int `yaml:"threshold"`
	// Backoff is the wait after Threshold failures. Default 1s.
	Backoff time.Duration `yaml:"backoff"`
	// IgnoredMediaTypes are target media types not sent (registry:2's older key).
	IgnoredMediaTypes []string `yaml:"ignoredmediatypes"`
	// Ignore lists media types and actions (push, pull, delete, mount) not sent.
	Ignore NotificationIgnore `yaml:"ignore"`
}

// NotificationIgnore is an endpoint's ignore section.
type NotificationIgnore struct {
	MediaTypes []string `yaml:"mediatypes"`
	Actions    []string `yaml:"actions"`
}

// Defaults returns the configuration used where nothing else is said.
func Defaults() Config {
	return Config{
		Listen:               ":8443",
		Data:                 "./data",
		TLS:                  TLSSelfSigned,
		Realm:                "Portcullis",
		ShutdownTimeout:      60 * time.Second,
		HeaderTimeout:        30 * time.Second,
		BodyIdleTimeout:      60 * time.Second,
		LoginThrottleIP:      "20/1m",
		LoginThrottleAccount: "10/1m",
		LoginThrottleDelay:   time.Second,
		UploadPurgeAge:       24 * time.Hour,
		UploadPurgeInterval:  time.Hour,
		// 512 uploads of at most ~0.5 MiB of buffers each while moving (registry/receive.go).
		MaxUploads:        512,
		MaxUploadsPerUser: 64,
		MaxConnsPerIP:     256,
		UI:                true,
		UISessionTTL:      time.Hour,
		LogFormat:         "text",
		LogLevel:          "info",
		Auth:              AuthBasic,
		TokenIssuer:       "portcullis",
		TokenTTL:          5 * time.Minute,
		TokenAlg:          "ES256",
		RefreshTTL:        30 * 24 * time.Hour,
		UpstreamAuth:      "none",

		AuditLogMaxSize:      "100MiB",
		AuditLogKeep:         "10",
		AuditSync:            "always",
		AuditSyncInterval:    time.Second,
		AuditFail:            "closed",
		AuditPulls:           "manifests",
		AuditCheckpointEvery: "1000",
	}
}

// TokenServiceName is the token service name in effect.
func (c Config) TokenServiceName() string {
	switch {
	case c.TokenService != "":
		return c.TokenService
	case len(c.Hostname) > 0:
		return c.Hostname[0]
	}
	return "localhost"
}

// NeedsTokens reports whether the gateway signs or verifies tokens: token mode, tokens
// for the upstream, or trusted issuers.
func (c Config) NeedsTokens() bool {
	return c.Auth == AuthToken || c.UpstreamAuth == AuthToken || len(c.TrustedIssuers) > 0
}

// TokenDir is where token keys and the token CA are kept.
func (c Config) TokenDir() string { return joinPath(c.Data, "token") }

// HtpasswdIsDefault reports whether the htpasswd file is the default one under the data
// directory (which the gateway may create), rather than one the user named.
func (c Config) HtpasswdIsDefault() bool { return c.Htpasswd == "" }

// HtpasswdFile is the htpasswd file in effect.
func (c Config) HtpasswdFile() string {
	if c.Htpasswd != "" {
		return c.Htpasswd
	}
	return joinPath(c.Data, "htpasswd")
}

// GroupsFile is the groups file in effect, "" for none.
func (c Config) GroupsFile() string {
	if c.Groups != "" {
		return c.Groups
	}
	if f := joinPath(c.Data, "groups.yaml"); fileExists(f) {
		return f
	}
	return ""
}

// HTTPListenAddr is the plain-HTTP listener in effect ("" for none).
func (c Config) HTTPListenAddr() string {
	if c.HTTPListen == "" && c.TLS == TLSACME {
		return ":80"
	}
	if c.HTTPListen == "off" {
		return ""
	}
	return c.HTTPListen
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}
