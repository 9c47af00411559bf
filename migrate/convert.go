package migrate

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/nginxconf"
)

// doc is one gateway configuration being built: keys with the nginx directives they came
// from, the directives not carried over (each with its reason), and the behaviour changes
// the summary reports.
type doc struct {
	file    string
	server  *server
	keys    map[string]*entry
	notes   []note
	changes []string
	// policyHint is false when nginx asked for no password (the authenticated-all hint
	// would not reproduce anything).
	policyHint bool
}

type entry struct {
	value any      // string or []string
	from  []string // "directive; (file:line)"
	why   string   // one line of explanation, may be empty
}

// note kinds.
const (
	notNeeded = iota // Portcullis does it on its own
	noEquivalent
)

type note struct {
	d      *nginxconf.Directive
	kind   int
	reason string
}

func (x *doc) set(key string, value any, d *nginxconf.Directive, why string) {
	e := &entry{value: value, why: why}
	if d != nil {
		e.from = []string{fmt.Sprintf("%s (%s)", brief(d), d.Pos())}
	}
	x.keys[key] = e
}

// also records one more nginx directive behind an existing key.
func (x *doc) also(key string, d *nginxconf.Directive) {
	if e := x.keys[key]; e != nil {
		e.from = append(e.from, fmt.Sprintf("%s (%s)", brief(d), d.Pos()))
	}
}

func (x *doc) note(d *nginxconf.Directive, kind int, reason string) {
	x.notes = append(x.notes, note{d, kind, reason})
}

// change records a behaviour change for the summary, once per topic (the text before
// the first ':'); the configuration's notes list every directive behind it.
func (x *doc) change(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	topic, _, _ := strings.Cut(s, ":")
	for _, c := range x.changes {
		if strings.HasPrefix(c, topic+":") {
			return
		}
	}
	x.changes = append(x.changes, s)
}

// Levels of the configuration a directive was found at.
const (
	lvlMain = iota
	lvlHTTP
	lvlServer
	lvlLocation
)

var levelName = [...]string{"main", "http", "server", "location"}

// convert builds the gateway configuration of one registry server.
func (t *tree) convert(s *server, regs []*server) (*doc, error) {
	x := &doc{server: s, keys: map[string]*entry{}, policyHint: true}
	x.set("data", "/var/lib/portcullis", nil, "")

	for _, d := range t.main {
		x.note(d, notNeeded, mainReason(d))
	}
	// Inheritable settings: the innermost level wins, as in nginx. Lists (proxy_set_header,
	// add_header) come whole from the innermost level that has any.
	levels := [][]*nginxconf.Directive{nil, t.http, s.d.Block, s.loc.Block}
	for lvl := lvlHTTP; lvl <= lvlLocation; lvl++ {
		for _, d := range levels[lvl] {
			if lvl == lvlServer && d == s.loc {
				continue
			}
			if err := t.directive(x, s, d, lvl, levels); err != nil {
				return nil, err
			}
		}
	}
	// Unused upstream blocks.
	for _, name := range sortedKeys(t.upstreams) {
		if u := t.upstreams[name]; !x.usesUpstream(u) {
			x.note(u, notNeeded, "not used by this registry server")
		}
	}
	t.listens(x, s, regs)
	if _, ok := x.keys["htpasswd"]; !ok {
		x.policyHint = false
		x.change("Logins: nginx asked for no password on %s, so anyone who reached it could pull, push and delete. Portcullis always asks for one on /v2/: it creates %s/htpasswd with a user \"admin\" whose password it prints once (add users with `gateway passwd`). To let anonymous clients pull, use examples/policies/public-read.", locPath(s.loc), x.keys["data"].value)
	}
	if _, ok := x.keys["upstream"]; !ok {
		return nil, fmt.Errorf("%s: proxy_pass in %s gives no upstream URL", s.loc.Pos(), brief(s.loc))
	}
	return x, nil
}

// usesUpstream reports whether the doc's upstream came from the upstream block u.
func (x *doc) usesUpstream(u *nginxconf.Directive) bool {
	e := x.keys["upstream"]
	if e == nil {
		return false
	}
	for _, f := range e.from {
		if strings.HasSuffix(f, "("+u.Pos()+")") {
			return true
		}
	}
	return false
}

// directive handles one directive found at level lvl of the registry server's context.
func (t *tree) directive(x *doc, s *server, d *nginxconf.Directive, lvl int, levels [][]*nginxconf.Directive) error {
	arg := func(i int) string {
		if i < len(d.Args) {
			return d.Args[i]
		}
		return ""
	}
	// shadowed reports whether an inner level sets the same directive, so this one is not
	// in effect for /v2/.
	shadowed := func() *nginxconf.Directive {
		for inner := lvl + 1; inner <= lvlLocation; inner++ {
			for _, o := range levels[inner] {
				if o.Name == d.Name {
					return o
				}
			}
		}
		return nil
	}
	if o := shadowed(); o != nil && isInheritable(d.Name) {
		x.note(d, notNeeded, fmt.Sprintf("not in effect for %s: the %s level sets its own (%s), and nginx inherits %s only from the innermost level that has one", locPath(s.loc), levelName[levelOf(o, levels)], o.Pos(), d.Name))
		return nil
	}
	switch d.Name {
	case "listen", "server_name":
		return nil // listens and names are read per server in listens
	case "location":
		x.note(d, noEquivalent, fmt.Sprintf("Portcullis serves only the registry API under /v2/; requests for %s get 404", locPath(d)))
		x.change("Other paths: nginx also served %s (%s); Portcullis answers only /v2/ (and /v1/search), so that location has to stay on a web server of its own.", locPath(d), d.Pos())
	case "proxy_pass":
		return t.proxyPass(x, s, d)
	case "ssl_certificate":
		if _, ok := x.keys["tls_cert"]; ok {
			x.note(d, noEquivalent, "Portcullis serves one certificate (the first ssl_certificate); an ECDSA/RSA pair of certificates is not supported")
			return nil
		}
		if strings.HasPrefix(arg(0), "data:") || strings.Contains(arg(0), "$") {
			x.note(d, noEquivalent, "certificates from variables or data: are not supported; name a file")
			return nil
		}
		x.set("tls", "files", d, "TLS with your certificate files, reloaded when they change (no nginx -s reload)")
		x.set("tls_cert", t.cfg.Resolve(arg(0)), d, "")
	case "ssl_certificate_key":
		if _, ok := x.keys["tls_key"]; ok {
			x.note(d, noEquivalent, "only the first certificate and key are used")
			return nil
		}
		x.set("tls_key", t.cfg.Resolve(arg(0)), d, "")
	case "ssl":
		if arg(0) == "on" {
			x.keys["ssl on"] = &entry{from: []string{d.Pos()}}
			x.note(d, notNeeded, "TLS is on for the listen address (the old `ssl on` switch is gone from nginx 1.25 too)")
		} else {
			x.note(d, notNeeded, "TLS stays off")
		}
	case "ssl_protocols":
		x.note(d, notNeeded, "Portcullis offers TLS 1.2 and 1.3 and nothing older; there is no setting")
		var old []string
		for _, p := range d.Args {
			if p == "SSLv2" || p == "SSLv3" || p == "TLSv1" || p == "TLSv1.1" {
				old = append(old, p)
			}
		}
		if len(old) > 0 {
			x.change("TLS: nginx also accepted %s (%s); Portcullis refuses anything older than TLS 1.2, so clients that old cannot connect (docker, podman and containerd of the last ten years speak 1.2 or 1.3).", strings.Join(old, ", "), d.Pos())
		}
	case "ssl_client_certificate":
		x.set("tls_client_ca", t.cfg.Resolve(arg(0)), d, "client certificates signed by these CAs log in as their subject CN")
	case "ssl_verify_client":
		if _, ok := x.keys["tls_client_ca"]; ok || arg(0) != "off" {
			x.also("tls_client_ca", d)
			if arg(0) == "on" {
				x.change("Client certificates: nginx required one (ssl_verify_client on, %s); Portcullis accepts one from tls_client_ca and otherwise asks for a password, and the policy decides (principal.method \"mtls\").", d.Pos())
			}
			return nil
		}
		x.note(d, notNeeded, "client certificates stay off")
	case "auth_basic":
		if arg(0) == "off" {
			delete(x.keys, "realm")
			delete(x.keys, "htpasswd")
			x.note(d, noEquivalent, "Portcullis always asks for a login on /v2/ (see the summary)")
			return nil
		}
		x.set("realm", arg(0), d, "the realm of the Basic challenge, as nginx sent it")
		if f := inEffect(levels, "auth_basic_user_file"); f != nil {
			x.set("htpasswd", t.cfg.Resolve(f.Args[0]), f, "the same htpasswd file (bcrypt, SHA and MD5-crypt entries); reloaded when it changes; each password is checked with bcrypt once, then cached")
		}
	case "auth_basic_user_file":
		if a := inEffect(levels, "auth_basic"); a == nil || (len(a.Args) > 0 && a.Args[0] == "off") {
			x.note(d, notNeeded, "auth_basic is off here, so nginx did not read this file")
		} // otherwise set with auth_basic
	case "proxy_set_header":
		k, r := proxyHeaderReason(arg(0), arg(1))
		x.note(d, k, r)
	case "add_header":
		k, r := addHeaderReason(arg(0))
		x.note(d, k, r)
	case "if":
		if userAgentBlock(d) {
			x.note(d, notNeeded, "this block turned away docker clients older than 1.6, which do not speak /v2/ at all; Portcullis needs no such rule")
			return nil
		}
		x.note(d, noEquivalent, "conditions on requests belong in the Rego policy (input.request has method, path, client_ip, user_agent)")
		x.change("Conditions: the if block at %s is not converted; write the rule in a policy.", d.Pos())
	case "map":
		if len(d.Args) == 2 && strings.Contains(d.Args[0], "docker_distribution_api_version") {
			x.note(d, notNeeded, "Portcullis always sends Docker-Distribution-Api-Version: registry/2.0")
			return nil
		}
		x.note(d, noEquivalent, "variables are not used by Portcullis")
	case "client_max_body_size":
		if n := arg(0); n == "0" {
			x.note(d, notNeeded, "no size cap: uploads stream to the registry whatever their size")
		} else {
			x.note(d, noEquivalent, "Portcullis has no upload size cap")
			x.change("Upload size: nginx refused request bodies over %s with 413 (%s); Portcullis streams any size to the registry.", n, d.Pos())
		}
	case "set_real_ip_from":
		var v []string
		if e := x.keys["trusted_proxy"]; e != nil {
			v = e.value.([]string)
		}
		from := x.keys["trusted_proxy"]
		x.set("trusted_proxy", append(v, arg(0)), d, "X-Forwarded-For from these addresses is believed (the client address the log and the policy see)")
		if from != nil {
			x.keys["trusted_proxy"].from = append(from.from, x.keys["trusted_proxy"].from...)
		}
	case "real_ip_header":
		if strings.EqualFold(arg(0), "X-Forwarded-For") {
			x.note(d, notNeeded, "Portcullis reads X-Forwarded-For from trusted_proxy addresses")
		} else {
			x.note(d, noEquivalent, "Portcullis reads only X-Forwarded-For from trusted proxies")
		}
	case "allow", "deny":
		x.note(d, noEquivalent, "address rules belong in the Rego policy (input.request.client_ip; see examples/policies/push-ip-allowlist)")
		x.change("Address rules: nginx's allow/deny (%s) no longer apply; write them in a policy (examples/policies/push-ip-allowlist shows how).", d.Pos())
	case "auth_request", "satisfy", "limit_except":
		x.note(d, noEquivalent, "Portcullis authenticates with htpasswd, client certificates or tokens, and decides per request in the Rego policy")
		x.change("Access rules: %s (%s) is not converted; express it in a policy.", brief(d), d.Pos())
	case "return", "rewrite":
		x.note(d, noEquivalent, "Portcullis does not rewrite or answer requests by rule")
	default:
		k, r := reasonFor(d.Name)
		x.note(d, k, r)
	}
	return nil
}

// inEffect returns the innermost definition of name among the levels, or nil.
func inEffect(levels [][]*nginxconf.Directive, name string) *nginxconf.Directive {
	for lvl := lvlLocation; lvl >= lvlHTTP; lvl-- {
		for i := len(levels[lvl]) - 1; i >= 0; i-- {
			if levels[lvl][i].Name == name {
				return levels[lvl][i]
			}
		}
	}
	return nil
}

func levelOf(d *nginxconf.Directive, levels [][]*nginxconf.Directive) int {
	for lvl := lvlLocation; lvl >= lvlHTTP; lvl-- {
		if slices.Contains(levels[lvl], d) {
			return lvl
		}
	}
	return lvlMain
}

func locPath(loc *nginxconf.Directive) string {
	if loc == nil || len(loc.Args) == 0 {
		return "/"
	}
	return strings.Join(loc.Args, " ")
}

// userAgentBlock recognises the registry recipe's `if ($http_user_agent ~ ...) { return 404; }`.
func userAgentBlock(d *nginxconf.Directive) bool {
	return len(d.Args) > 0 && strings.HasPrefix(d.Args[0], "($http_user_agent") && d.IsBlock() &&
		len(d.Block) == 1 && d.Block[0].Name == "return"
}

// proxyPass sets upstream from proxy_pass, following an upstream block.
func (t *tree) proxyPass(x *doc, s *server, d *nginxconf.Directive) error {
	if len(d.Args) != 1 {
		return fmt.Errorf("%s: proxy_pass takes one URL", d.Pos())
	}
	raw := d.Args[0]
	if strings.Contains(raw, "$") {
		return fmt.Errorf("%s: proxy_pass %s: the upstream is chosen by variables at request time; Portcullis needs a fixed URL (pass --upstream http://HOST:PORT)", d.Pos(), raw)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: proxy_pass %q is not an http:// or https:// URL", d.Pos(), raw)
	}
	if u.Path != "" && u.Path != "/" && u.Path != "/v2/" && u.Path != "/v2" {
		x.change("Upstream path: proxy_pass at %s maps %s to %s on the registry; Portcullis forwards the path unchanged, so point the registry's own prefix at / (or keep nginx between them).", d.Pos(), locPath(s.loc), u.Path)
	}
	why := "sidecar mode: Portcullis checks each request and forwards it here (the registry needs no port of its own on the host)"
	if up, ok := t.upstreams[u.Hostname()]; ok && u.Port() == "" {
		return t.upstreamBlock(x, d, up, u.Scheme, why)
	}
	x.set("upstream", u.Scheme+"://"+u.Host, d, why)
	if u.Scheme == "https" {
		x.change("Upstream TLS: the registry's certificate is verified against the system CAs (set SSL_CERT_FILE for a private CA); nginx does not verify by default.")
	}
	return nil
}

func (t *tree) upstreamBlock(x *doc, pass, up *nginxconf.Directive, scheme, why string) error {
	var servers []*nginxconf.Directive
	for _, d := range up.Block {
		switch d.Name {
		case "server":
			servers = append(servers, d)
		case "keepalive", "keepalive_timeout", "keepalive_requests":
			x.note(d, notNeeded, "Portcullis keeps up to 64 idle HTTP/1.1 connections to the upstream")
		default:
			x.note(d, noEquivalent, "Portcullis forwards to one upstream URL (no balancing settings)")
		}
	}
	if len(servers) == 0 {
		return fmt.Errorf("%s: upstream %s has no server", up.Pos(), up.Args[0])
	}
	first := servers[0]
	addr := first.Args[0]
	if strings.HasPrefix(addr, "unix:") {
		return fmt.Errorf("%s: upstream server %s is a unix socket; Portcullis reaches the registry over TCP (make it listen on an address)", first.Pos(), addr)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), "80")
	}
	x.set("upstream", scheme+"://"+addr, pass, why)
	x.also("upstream", up)
	if len(first.Args) > 1 { // weight=, max_fails=, fail_timeout=, backup
		x.note(first, notNeeded, "balancing parameters do not apply to a single upstream")
	}
	if len(servers) > 1 {
		var rest []string
		for _, o := range servers[1:] {
			rest = append(rest, o.Args[0])
			x.note(o, noEquivalent, fmt.Sprintf("Portcullis forwards to one upstream URL; this server (%s) is not used", o.Args[0]))
		}
		x.keys["upstream"].why = fmt.Sprintf("the first of the %d servers of upstream %s; see the summary", len(servers), up.Args[0])
		x.change("Several registries: upstream %s (%s) spread requests over %d servers; Portcullis forwards to one URL, the first (%s). Put a load balancer (haproxy, or nginx without auth) in front of %s and %s and point upstream at it, or keep one registry. The replicas must share storage either way, or pushes land on one and pulls miss on the other.", up.Args[0], up.Pos(), len(servers), first.Args[0], first.Args[0], strings.Join(rest, ", "))
	}
	return nil
}

// listens converts the registry server's listen directives, and those of servers that
// only redirect to it, into listen, http_listen and tls.
func (t *tree) listens(x *doc, s *server, regs []*server) {
	type lst struct {
		d    *nginxconf.Directive
		addr string
		tls  bool
	}
	parse := func(d *nginxconf.Directive, sslOn bool) lst {
		l := lst{d: d, addr: listenAddr(d.Args[0]), tls: sslOn}
		for _, p := range d.Args[1:] {
			if p == "ssl" {
				l.tls = true
			}
		}
		return l
	}
	_, sslOn := x.keys["ssl on"]
	delete(x.keys, "ssl on")
	var tlsL, plainL []lst
	for _, d := range s.d.Block {
		switch d.Name {
		case "listen":
			if len(d.Args) == 0 {
				continue
			}
			if strings.HasPrefix(d.Args[0], "unix:") {
				x.note(d, noEquivalent, "Portcullis listens on TCP addresses only")
				continue
			}
			if l := parse(d, sslOn); l.tls {
				tlsL = append(tlsL, l)
			} else {
				plainL = append(plainL, l)
			}
		case "server_name":
			var names []string
			for _, n := range d.Args {
				switch {
				case n == "" || n == "_":
				case strings.HasPrefix(n, "~") || strings.Contains(n, "*") || strings.HasPrefix(n, "."):
					x.change("Names: server_name %s (%s) is a pattern; Portcullis takes plain names only (they go into the self-signed certificate and the startup hints).", n, d.Pos())
				default:
					names = append(names, n)
				}
			}
			if len(names) > 0 {
				var prev []string
				if e := x.keys["hostname"]; e != nil {
					prev = e.value.([]string)
				}
				x.set("hostname", append(prev, names...), d, "names clients use: the startup hints (docker login HOST) and the self-signed certificate's names")
			} else {
				x.note(d, notNeeded, "a catch-all name; Portcullis answers whatever name it is reached by")
			}
		}
	}
	if len(s.d.Block) > 0 && !hasDirective(s.d.Block, "listen") {
		plainL = append(plainL, lst{d: s.d, addr: ":80"})
	}
	noteRest := func(ls []lst, why string) {
		for _, l := range ls {
			if l.d != s.d {
				x.note(l.d, noEquivalent, why)
			}
		}
	}
	sameAs := func(a, b string) bool { // [::]:443 is covered by :443
		_, pa, _ := net.SplitHostPort(a)
		_, pb, _ := net.SplitHostPort(b)
		h, _, _ := net.SplitHostPort(b)
		return pa == pb && (h == "::" || h == "*")
	}
	switch {
	case len(tlsL) > 0:
		x.set("listen", tlsL[0].addr, tlsL[0].d, "HTTPS; HTTP/2 is on")
		for _, l := range tlsL[1:] {
			if sameAs(tlsL[0].addr, l.addr) {
				x.also("listen", l.d)
				x.keys["listen"].why = "HTTPS on IPv4 and IPv6; HTTP/2 is on"
				continue
			}
			x.note(l.d, noEquivalent, "Portcullis listens on one HTTPS address: "+tlsL[0].addr)
		}
		if _, ok := x.keys["tls"]; !ok {
			x.set("tls", "self-signed", nil, "nginx had no ssl_certificate here; Portcullis makes its own CA (`gateway ca` prints it)")
		}
		if len(plainL) > 0 {
			x.set("http_listen", plainL[0].addr, plainL[0].d, "plain HTTP: redirects to HTTPS")
			x.change("Plain HTTP: nginx served the registry on %s without TLS too (%s); Portcullis redirects that port to HTTPS, so clients configured for http:// must move to https://.", plainL[0].addr, plainL[0].d.Pos())
			noteRest(plainL[1:], "Portcullis has one plain-HTTP address (http_listen)")
		}
	default:
		x.set("listen", plainL[0].addr, plainL[0].d, "plain HTTP, as nginx served it")
		x.set("tls", "off", nil, "nginx served the registry without TLS")
		x.change("No TLS: nginx served the registry in plain HTTP on %s, so passwords crossed the network in clear and every docker daemon needed it under insecure-registries. Portcullis does the same with tls: off, meant for a TLS-terminating proxy in front (list it in trusted_proxy). Remove tls: off to get HTTPS with a generated CA (`gateway ca` prints how clients trust it), or give tls: files with your certificate.", plainL[0].addr)
		noteRest(plainL[1:], "Portcullis listens on one address")
		delete(x.keys, "tls_cert")
		delete(x.keys, "tls_key")
	}
	if len(tlsL) == 0 {
		return
	}
	// Servers that only redirect to https on this machine: their port becomes http_listen.
	for _, r := range t.servers {
		if r.kind != kindRedirect || !sharesName(r, s, len(regs)) {
			continue
		}
		for _, d := range r.d.Block {
			if d.Name != "listen" || len(d.Args) == 0 {
				continue
			}
			addr := listenAddr(d.Args[0])
			if e, ok := x.keys["http_listen"]; ok {
				if e.value == addr || sameAs(e.value.(string), addr) {
					x.also("http_listen", d)
				}
				continue
			}
			x.set("http_listen", addr, d, fmt.Sprintf("plain HTTP redirects to HTTPS, as %s did", r.label()))
		}
	}
}

// sharesName reports whether redirect server r belongs with registry server s: the only
// registry server takes every redirect; otherwise they must share a name.
func sharesName(r, s *server, registries int) bool {
	if registries == 1 || len(r.names) == 0 {
		return true
	}
	for _, n := range r.names {
		if slices.Contains(s.names, n) {
			return true
		}
	}
	return false
}

// listenAddr turns nginx's listen address (443, 127.0.0.1, 127.0.0.1:8443, [::]:443,
// *:443, localhost:443) into host:port.
func listenAddr(a string) string {
	if _, err := strconv.Atoi(a); err == nil {
		return ":" + a
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		host, port = strings.Trim(a, "[]"), "80"
	}
	if host == "*" {
		host = ""
	}
	return net.JoinHostPort(host, port)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
