package migrate

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/portcullis/portcullis/nginxconf"
)

// Output is one converted gateway configuration: one per nginx server block that proxies
// a registry.
type Output struct {
	// File is the name to write it under: the caller's name for the first, NAME-2.yaml
	// and so on for further servers.
	File string
	// Server names the nginx server block it came from, for messages.
	Server string
	YAML   []byte
}

// Result is a whole conversion.
type Result struct {
	Outputs []Output
	// Summary says in plain words what was converted, what changes for users and what
	// to do next.
	Summary string
}

// Nginx converts the nginx configuration whose main file is file (an absolute path in
// fsys, see nginxconf.Load) into one Portcullis configuration per server block that
// proxies /v2/ to a registry. out names the first output file (gateway.yaml when empty).
// Syntax errors, and what cannot be converted into something that runs (a proxy_pass
// target chosen by variables, no registry server at all), are errors naming file and line.
func Nginx(fsys fs.FS, file, out string) (*Result, error) {
	cfg, err := nginxconf.Load(fsys, file)
	if err != nil {
		return nil, err
	}
	if err := check(cfg.Directives); err != nil {
		return nil, err
	}
	if out == "" {
		out = "gateway.yaml"
	}
	t := newTree(cfg)
	var regs []*server
	for _, s := range t.servers {
		if s.kind == kindRegistry {
			regs = append(regs, s)
		}
	}
	if len(regs) == 0 {
		return nil, fmt.Errorf("%s: no server block proxies the registry API (a location /v2/ or / with proxy_pass); nothing to convert", cfg.Main)
	}
	res := &Result{}
	var docs []*doc
	for i, s := range regs {
		name := out
		if i > 0 {
			ext := path.Ext(out)
			name = fmt.Sprintf("%s-%d%s", strings.TrimSuffix(out, ext), i+1, ext)
		}
		d, err := t.convert(s, regs)
		if err != nil {
			return nil, err
		}
		d.file = name
		docs = append(docs, d)
		res.Outputs = append(res.Outputs, Output{File: name, Server: s.label(), YAML: d.render(cfg)})
	}
	res.Summary = summary(cfg, t, docs)
	return res, nil
}

// Server kinds.
const (
	kindRegistry = iota // proxies /v2/: becomes a gateway configuration
	kindRedirect        // only redirects to https: becomes http_listen
	kindOther           // anything else: left to nginx
)

// server is one server block with its surroundings.
type server struct {
	d     *nginxconf.Directive
	http  []*nginxconf.Directive // the enclosing http block's directives (or the top level)
	loc   *nginxconf.Directive   // the location that proxies /v2/ (registry servers)
	kind  int
	names []string // server_name arguments
}

func (s *server) label() string {
	if len(s.names) > 0 && s.names[0] != "" && s.names[0] != "_" {
		return fmt.Sprintf("server %s (%s)", s.names[0], s.d.Pos())
	}
	return fmt.Sprintf("server at %s", s.d.Pos())
}

// tree is the configuration split into what conversion needs.
type tree struct {
	cfg       *nginxconf.Config
	main      []*nginxconf.Directive // top-level directives other than http
	http      []*nginxconf.Directive // http-level directives other than server and upstream blocks
	upstreams map[string]*nginxconf.Directive
	servers   []*server
}

func newTree(cfg *nginxconf.Config) *tree {
	t := &tree{cfg: cfg, upstreams: map[string]*nginxconf.Directive{}}
	httpLevel := func(ds []*nginxconf.Directive) {
		for _, d := range ds {
			switch {
			case d.Name == "server" && d.IsBlock():
				t.servers = append(t.servers, newServer(d, ds))
			case d.Name == "upstream" && d.IsBlock() && len(d.Args) == 1:
				t.upstreams[d.Args[0]] = d
			default:
				t.http = append(t.http, d)
			}
		}
	}
	// A file holding server blocks at its top level (a conf.d snippet given on its own)
	// is read as the inside of an http block.
	snippet := slices.ContainsFunc(cfg.Directives, func(d *nginxconf.Directive) bool { return d.Name == "server" && d.IsBlock() })
	for _, d := range cfg.Directives {
		switch {
		case d.Name == "http" && d.IsBlock():
			httpLevel(d.Block)
		case snippet && (d.Name == "server" || d.Name == "upstream" || d.Name == "map" || isInheritable(d.Name)):
			httpLevel([]*nginxconf.Directive{d})
		default:
			t.main = append(t.main, d)
		}
	}
	return t
}

func newServer(d *nginxconf.Directive, http []*nginxconf.Directive) *server {
	s := &server{d: d, http: http, kind: kindOther}
	for _, x := range d.Block {
		if x.Name == "server_name" {
			s.names = append(s.names, x.Args...)
		}
	}
	if s.loc = registryLocation(d); s.loc != nil {
		s.kind = kindRegistry
	} else if redirectsToHTTPS(d) {
		s.kind = kindRedirect
	}
	return s
}

// registryLocation picks the location block that serves /v2/ by proxying: /v2/ itself
// (any prefix modifier), a regular expression naming v2, or / as a last resort.
func registryLocation(server *nginxconf.Directive) *nginxconf.Directive {
	var best *nginxconf.Directive
	bestScore := 0
	for _, l := range server.Block {
		if l.Name != "location" || !l.IsBlock() || len(l.Args) == 0 || !hasDirective(l.Block, "proxy_pass") {
			continue
		}
		p := l.Args[len(l.Args)-1]
		score := 0
		switch {
		case p == "/v2/" || p == "/v2":
			score = 3
		case strings.Contains(p, "v2") && len(l.Args) == 2 && strings.HasPrefix(l.Args[0], "~"):
			score = 2
		case p == "/" && len(l.Args) == 1:
			score = 1
		}
		if score > bestScore {
			best, bestScore = l, score
		}
	}
	return best
}

// redirectsToHTTPS reports whether a server block only sends clients to https.
func redirectsToHTTPS(server *nginxconf.Directive) bool {
	for _, x := range server.Block {
		if x.Name == "return" && len(x.Args) == 2 && strings.HasPrefix(x.Args[1], "https://") {
			return true
		}
		if x.Name == "rewrite" && len(x.Args) >= 2 && strings.HasPrefix(x.Args[1], "https://") {
			return true
		}
	}
	return false
}

func hasDirective(ds []*nginxconf.Directive, name string) bool {
	return slices.ContainsFunc(ds, func(d *nginxconf.Directive) bool { return d.Name == name })
}

// brief is a directive as one short line of text, for comments.
func brief(d *nginxconf.Directive) string {
	var b strings.Builder
	b.WriteString(display(d.Name))
	for _, a := range d.Args {
		b.WriteByte(' ')
		b.WriteString(display(a))
	}
	s := b.String()
	if len(s) > 90 {
		s = s[:87] + "..."
	}
	if d.IsBlock() {
		return s + " { ... }"
	}
	return s + ";"
}

// display writes an argument for a reader: quoted when nginx needs quotes, with only the
// quote escaped (a regular expression's backslashes read as the user wrote them).
func display(a string) string {
	if strings.ContainsFunc(a, func(r rune) bool { return r < 0x20 || r == 0x7f || r == utf8.RuneError }) {
		return strconv.Quote(a) // a comment line must stay one printable line
	}
	if nginxconf.Quote(a) == a {
		return a
	}
	return `"` + strings.ReplaceAll(a, `"`, `\"`) + `"`
}
