package integration

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"log/slog"

	"golang.org/x/net/html"

	"github.com/portcullis/portcullis/ui"
)

// uiServer is the web UI over a stack's pipeline, as cmd/gateway mounts it: /ui/ is the
// UI, everything else the pipeline.
type uiServer struct {
	URL     string
	handler http.Handler // the mux the server serves
	clock   *testClock
	s       *stack
}

// testClock is a settable clock for session expiry.
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time { return c.t }

func newUI(t testing.TB, s *stack, mod ...func(*ui.Config)) *uiServer {
	t.Helper()
	clock := &testClock{t: time.Now()}
	cfg := ui.Config{
		Pipeline:   s.Pipeline,
		Authorizer: s.authz,
		Login:      s.Login,
		KeyFile:    filepath.Join(s.Dir, "ui", "session.key"),
		PublicHost: "registry.example.test",
		Logger:     testLogger(),
		Now:        clock.now,
	}
	for _, m := range mod {
		m(&cfg)
	}
	h, err := ui.New(cfg)
	if err != nil {
		t.Fatalf("ui.New: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ui/", h)
	mux.Handle("/", s.Pipeline)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &uiServer{URL: srv.URL, handler: mux, clock: clock, s: s}
}

// browser is a minimal browser: it keeps cookies by name (Secure ones too, over the
// test's plain HTTP, as browsers do for localhost), does not follow redirects, and sends
// Origin and Sec-Fetch-Site with form posts as a browser does for a same-origin form.
type browser struct {
	t       testing.TB
	base    string
	cookies map[string]*http.Cookie
	client  *http.Client
}

func (u *uiServer) browser(t testing.TB) *browser {
	return &browser{t: t, base: u.URL, cookies: map[string]*http.Cookie{},
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is an answer: status, headers, body and its parsed document.
type page struct {
	Status int
	Header http.Header
	Body   string
	Doc    *html.Node
}

func (b *browser) do(method, path string, form url.Values, header http.Header) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(b.t.Context(), method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	p := page{Status: resp.StatusCode, Header: resp.Header, Body: string(raw)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		if p.Doc, err = html.Parse(strings.NewReader(p.Body)); err != nil {
			b.t.Fatalf("parsing %s: %v", path, err)
		}
	}
	return p
}

func (b *browser) get(path string) page { b.t.Helper(); return b.do(http.MethodGet, path, nil, nil) }

// post submits a form as a same-origin page would.
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	return b.do(http.MethodPost, path, form, http.Header{"Origin": {b.base}, "Sec-Fetch-Site": {"same-origin"}})
}

// login signs in as user through the form.
func (b *browser) login(user string) {
	b.t.Helper()
	delete(b.cookies, "portcullis_session") // a fresh sign-in
	p := b.get("/ui/login")
	tok := attr(byID(p.Doc, "login"), "csrf")
	r := b.post("/ui/login", url.Values{"csrf": {tok}, "username": {user}, "password": {passwordOf(user)}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/ui/repos" {
		b.t.Fatalf("signing in as %s: %d %s", user, r.Status, r.Body)
	}
}

// csrf is the signed-in page's form token (from the sign-out form).
func (b *browser) csrf() string {
	b.t.Helper()
	p := b.get("/ui/repos")
	return attr(byID(p.Doc, "signout"), "csrf")
}

// walk calls f on n and every node under it.
func walk(n *html.Node, f func(*html.Node)) {
	if n == nil {
		return
	}
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

func getAttr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func byID(doc *html.Node, id string) *html.Node {
	var out *html.Node
	walk(doc, func(n *html.Node) {
		if out == nil && n.Type == html.ElementNode && getAttr(n, "id") == id {
			out = n
		}
	})
	return out
}

// byClass finds the elements under n with class c (tag "" for any).
func byClass(n *html.Node, tag, c string) []*html.Node {
	var out []*html.Node
	walk(n, func(x *html.Node) {
		if x.Type == html.ElementNode && (tag == "" || x.Data == tag) && hasClass(x, c) {
			out = append(out, x)
		}
	})
	return out
}

func hasClass(n *html.Node, c string) bool {
	for _, f := range strings.Fields(getAttr(n, "class")) {
		if f == c {
			return true
		}
	}
	return false
}

func text(n *html.Node) string {
	var b strings.Builder
	walk(n, func(x *html.Node) {
		if x.Type == html.TextNode {
			b.WriteString(x.Data)
		}
	})
	return strings.TrimSpace(b.String())
}

// attr is the value of the input named name inside n (a form).
func attr(n *html.Node, name string) string {
	var v string
	walk(n, func(x *html.Node) {
		if x.Type == html.ElementNode && x.Data == "input" && getAttr(x, "name") == name {
			v = getAttr(x, "value")
		}
	})
	return v
}

// cell is the text of the first element with class c under row.
func cell(row *html.Node, c string) string {
	var cs []*html.Node
	for ch := row.FirstChild; ch != nil; ch = ch.NextSibling {
		cs = append(cs, byClass(ch, "", c)...)
	}
	if len(cs) == 0 {
		return ""
	}
	return text(cs[0])
}

func testLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// htmlNode and htmlElement shorten the x/net/html names in the tests.
type htmlNode = html.Node

const htmlElement = html.ElementNode
