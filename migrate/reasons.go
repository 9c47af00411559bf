package migrate

import (
	"strings"

	"github.com/portcullis/portcullis/nginxconf"
)

// Why directives are not carried over. Each reason says what Portcullis does instead.
const (
	whyProcess   = "nginx process setting; Portcullis is one process (run it under systemd or in a container: deploy/)"
	whyLogs      = "Portcullis logs one structured line per request on stderr (log_format: json for log shippers); no credential is ever logged"
	whyStreaming = "bodies stream both ways as they arrive; nothing is buffered whole or spooled to disk"
	whyTimeouts  = "no timeout on whole requests (a 10 GiB push takes as long as it takes); connecting to the upstream gives up after 10s and waiting for its response headers after 2m"
	whyTLS       = "Go's TLS defaults: TLS 1.2 and 1.3, AEAD cipher suites, X25519, session tickets; there is no setting"
	whyHTTP      = "nginx HTTP tuning; Go's HTTP server needs none"
	whyStatic    = "Portcullis serves no files"
	whyUpstream  = "Portcullis keeps HTTP/1.1 keep-alive connections to the upstream and passes its answers through untouched"
)

// reasons maps directive names to why they are not carried over.
var reasons = map[string]struct {
	kind   int
	reason string
}{
	"chunked_transfer_encoding":     {notNeeded, "chunked request bodies stream as they come (the 411 this avoided in nginx cannot happen)"},
	"proxy_request_buffering":       {notNeeded, whyStreaming},
	"proxy_buffering":               {notNeeded, whyStreaming},
	"proxy_buffer_size":             {notNeeded, whyStreaming},
	"proxy_buffers":                 {notNeeded, whyStreaming},
	"proxy_busy_buffers_size":       {notNeeded, whyStreaming},
	"proxy_max_temp_file_size":      {notNeeded, whyStreaming},
	"proxy_temp_path":               {notNeeded, whyStreaming},
	"client_body_buffer_size":       {notNeeded, whyStreaming},
	"client_body_temp_path":         {notNeeded, whyStreaming},
	"client_body_in_file_only":      {notNeeded, whyStreaming},
	"fastcgi_temp_path":             {notNeeded, whyStreaming},
	"uwsgi_temp_path":               {notNeeded, whyStreaming},
	"scgi_temp_path":                {notNeeded, whyStreaming},
	"proxy_read_timeout":            {notNeeded, whyTimeouts},
	"proxy_send_timeout":            {notNeeded, whyTimeouts},
	"proxy_connect_timeout":         {notNeeded, whyTimeouts},
	"client_body_timeout":           {notNeeded, whyTimeouts},
	"send_timeout":                  {notNeeded, whyTimeouts},
	"proxy_http_version":            {notNeeded, whyUpstream},
	"proxy_redirect":                {notNeeded, "upload Location headers are rewritten so clients never see the upstream's address"},
	"proxy_next_upstream":           {notNeeded, "Portcullis forwards to one upstream URL"},
	"proxy_hide_header":             {noEquivalent, whyUpstream},
	"proxy_pass_header":             {noEquivalent, whyUpstream},
	"proxy_ignore_headers":          {noEquivalent, whyUpstream},
	"proxy_intercept_errors":        {noEquivalent, "errors reach the client in the registry's JSON format as the upstream wrote them; the gateway's own are 502/504 in the same format"},
	"proxy_ssl_verify":              {noEquivalent, "an https upstream is always verified against the system CAs (SSL_CERT_FILE names a private CA)"},
	"proxy_ssl_trusted_certificate": {noEquivalent, "an https upstream is verified against the system CAs: set SSL_CERT_FILE to this file in the gateway's environment"},
	"proxy_ssl_server_name":         {notNeeded, "the upstream's name is sent in SNI"},
	"proxy_ssl_name":                {noEquivalent, "the upstream URL's host is the TLS name"},
	"ssl_ciphers":                   {notNeeded, whyTLS},
	"ssl_prefer_server_ciphers":     {notNeeded, whyTLS},
	"ssl_ecdh_curve":                {notNeeded, whyTLS},
	"ssl_dhparam":                   {notNeeded, whyTLS},
	"ssl_session_cache":             {notNeeded, whyTLS},
	"ssl_session_timeout":           {notNeeded, whyTLS},
	"ssl_session_tickets":           {notNeeded, whyTLS},
	"ssl_buffer_size":               {notNeeded, whyTLS},
	"ssl_early_data":                {notNeeded, whyTLS},
	"ssl_conf_command":              {notNeeded, whyTLS},
	"ssl_stapling":                  {noEquivalent, "no OCSP stapling"},
	"ssl_stapling_verify":           {noEquivalent, "no OCSP stapling"},
	"ssl_trusted_certificate":       {noEquivalent, "no OCSP stapling"},
	"ssl_verify_depth":              {notNeeded, "Go verifies client certificate chains of any depth"},
	"http2":                         {notNeeded, "HTTP/2 is always on"},
	"http2_max_concurrent_streams":  {notNeeded, whyHTTP},
	"http3":                         {noEquivalent, "no HTTP/3"},
	"access_log":                    {notNeeded, whyLogs},
	"error_log":                     {notNeeded, whyLogs},
	"log_format":                    {notNeeded, whyLogs},
	"log_not_found":                 {notNeeded, whyLogs},
	"server_tokens":                 {notNeeded, "Portcullis names no version in its answers"},
	"sendfile":                      {notNeeded, whyHTTP},
	"tcp_nopush":                    {notNeeded, whyHTTP},
	"tcp_nodelay":                   {notNeeded, whyHTTP},
	"keepalive_timeout":             {notNeeded, "idle client connections close after 2 minutes"},
	"keepalive_requests":            {notNeeded, whyHTTP},
	"types_hash_max_size":           {notNeeded, whyHTTP},
	"server_names_hash_bucket_size": {notNeeded, whyHTTP},
	"client_header_buffer_size":     {notNeeded, "request headers may be up to 64 KiB"},
	"large_client_header_buffers":   {notNeeded, "request headers may be up to 64 KiB"},
	"client_header_timeout":         {notNeeded, "request headers must arrive within 30s"},
	"reset_timedout_connection":     {notNeeded, whyHTTP},
	"types":                         {notNeeded, whyStatic},
	"default_type":                  {notNeeded, whyStatic},
	"charset":                       {notNeeded, whyStatic},
	"root":                          {notNeeded, whyStatic},
	"index":                         {notNeeded, whyStatic},
	"alias":                         {notNeeded, whyStatic},
	"try_files":                     {notNeeded, whyStatic},
	"autoindex":                     {notNeeded, whyStatic},
	"expires":                       {notNeeded, whyStatic},
	"error_page":                    {noEquivalent, "errors are the registry's JSON envelope"},
	"gzip":                          {notNeeded, "image layers are compressed already; Portcullis passes bodies through untouched"},
	"gzip_types":                    {notNeeded, "image layers are compressed already"},
	"gzip_vary":                     {notNeeded, "image layers are compressed already"},
	"gzip_proxied":                  {notNeeded, "image layers are compressed already"},
	"gzip_comp_level":               {notNeeded, "image layers are compressed already"},
	"resolver":                      {notNeeded, "the system resolver finds the upstream"},
	"resolver_timeout":              {notNeeded, "the system resolver finds the upstream"},
	"limit_req":                     {noEquivalent, "no rate limiting"},
	"limit_req_zone":                {noEquivalent, "no rate limiting"},
	"limit_conn":                    {noEquivalent, "no connection limits"},
	"limit_conn_zone":               {noEquivalent, "no connection limits"},
	"proxy_cache":                   {noEquivalent, "no response cache"},
	"proxy_cache_path":              {noEquivalent, "no response cache"},
	"proxy_cache_valid":             {noEquivalent, "no response cache"},
	"set":                           {noEquivalent, "variables are not used by Portcullis"},
	"underscores_in_headers":        {notNeeded, whyHTTP},
	"merge_slashes":                 {notNeeded, "paths with // are refused (400) rather than merged: the gateway forwards exactly what it judged"},
	"absolute_redirect":             {notNeeded, whyUpstream},
	"port_in_redirect":              {notNeeded, whyUpstream},
}

// isInheritable reports whether nginx passes the directive from http to server to
// location (the ones that matter here), so only the innermost is in effect.
func isInheritable(name string) bool {
	switch name {
	case "auth_basic", "auth_basic_user_file", "client_max_body_size", "proxy_set_header", "add_header",
		"ssl_certificate", "ssl_certificate_key", "ssl_protocols", "ssl_ciphers", "ssl_client_certificate",
		"ssl_verify_client", "proxy_read_timeout", "proxy_send_timeout", "proxy_connect_timeout",
		"chunked_transfer_encoding", "proxy_request_buffering", "proxy_buffering", "proxy_http_version",
		"access_log", "error_log", "set_real_ip_from", "real_ip_header", "allow", "deny":
		return true
	}
	return false
}

// reasonFor is the reason for a directive with no special handling.
func reasonFor(name string) (int, string) {
	if r, ok := reasons[name]; ok {
		return r.kind, r.reason
	}
	return noEquivalent, "no equivalent in Portcullis (not converted)"
}

// mainReason is the reason for a directive outside the http block.
func mainReason(d *nginxconf.Directive) string {
	switch d.Name {
	case "stream", "mail":
		return "nginx's TCP/mail proxying is not a registry front end; leave it to nginx"
	case "error_log":
		return whyLogs
	}
	return whyProcess
}

// proxyHeaderReason says what Portcullis does about one proxy_set_header.
func proxyHeaderReason(name, value string) (int, string) {
	switch strings.ToLower(name) {
	case "host":
		return notNeeded, "the registry gets X-Forwarded-Host with the name the client used, and upload Location headers are rewritten for the client"
	case "x-real-ip":
		return notNeeded, "X-Forwarded-For carries the client address (the one the log and the policy see)"
	case "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host":
		return notNeeded, "set by the gateway from what it saw; sent by clients, they are dropped unless from trusted_proxy"
	case "authorization":
		if value == "" {
			return notNeeded, "the client's credentials never reach the registry"
		}
		return noEquivalent, "the client's credentials never reach the registry, and no others are sent"
	case "connection":
		return notNeeded, whyUpstream
	case "accept-encoding":
		return notNeeded, "the client's Accept-Encoding is passed on; the registry does not compress its answers, so nothing changes"
	case "x-forwarded-by", "x-forwarded-port", "x-forwarded-server", "x-original-uri":
		return noEquivalent, "the gateway sets X-Forwarded-For/-Proto/-Host and X-Request-Id only"
	}
	return noEquivalent, "the gateway sends no custom headers upstream"
}

// addHeaderReason says what Portcullis does about one add_header.
func addHeaderReason(name string) (int, string) {
	switch strings.ToLower(name) {
	case "docker-distribution-api-version":
		return notNeeded, "always sent, on the 401 challenge too"
	case "strict-transport-security":
		return notNeeded, "HTTPS answers carry HSTS (one year)"
	case "x-request-id":
		return notNeeded, "every answer carries X-Request-Id"
	}
	return noEquivalent, "no custom response headers"
}
