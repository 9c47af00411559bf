package e2e

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/portcullis/portcullis/internal/testenv"
)

// browserTimeout bounds one step in the browser (a navigation, a wait for an element), so a
// page that never shows what the test waits for fails the test instead of hanging it.
const browserTimeout = 30 * time.Second

// browser is one headless chromium driven over the DevTools protocol, with one tab per
// signed-in user (each in its own browser context, so cookies are not shared).
type browser struct {
	t      *testing.T
	g      *gateway
	ctx    context.Context // the allocator's first tab; parent of the users' tabs
	shots  string          // directory the screenshots go to
	origin string          // https://127.0.0.1:PORT
}

// newBrowser starts Debian's chromium headless, trusting the gateway's certificate and
// no other certificate error: --ignore-certificate-errors-spki-list names the public key
// of the certificate the gateway serves, so a certificate error on any other origin
// still fails. Its output goes to a log printed when the test fails.
func newBrowser(t *testing.T, g *gateway, shots string) *browser {
	t.Helper()
	exe := testenv.NeedTool(t, "chromium")
	spki := servedSPKI(t, g)
	logPath := filepath.Join(t.TempDir(), "chromium.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("chromium output (%s):\n%s", logPath, tail(string(b), 60))
		}
	})
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // the tests run as root, where chromium's sandbox refuses to start
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("ignore-certificate-errors-spki-list", spki),
		chromedp.Flag("lang", "en-US"),
		chromedp.CombinedOutput(logf),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", exe, err)
	}
	return &browser{t: t, g: g, ctx: ctx, shots: shots, origin: g.URL}
}

// servedSPKI returns base64(SHA-256(SubjectPublicKeyInfo)) of the certificate the gateway
// serves, verified against its CA first: the form chromium's
// --ignore-certificate-errors-spki-list takes.
func servedSPKI(t *testing.T, g *gateway) string {
	t.Helper()
	pem, err := os.ReadFile(g.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	conn, err := tls.Dial("tcp", g.Addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS to the gateway trusting its CA: %v", err)
	}
	defer conn.Close()
	leaf := conn.ConnectionState().PeerCertificates[0]
	sum := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// tab is one user's tab. Every event that can reveal a page misbehaving is recorded:
// dialogs (which are dismissed, so a page cannot block the test), console messages,
// uncaught exceptions, browser log entries, requests and navigations.
type tab struct {
	b    *browser
	t    *testing.T
	ctx  context.Context
	name string

	mu       sync.Mutex
	dialogs  []string
	problems []string        // console errors, exceptions, error log entries
	requests []string        // URL of every request, navigations included
	navs     []string        // URL of every main-frame navigation requested or done
	failing  map[string]bool // URLs answered with an error status on purpose (allowStatus)
	intended map[string]bool // URLs the test itself opened
	// netChanged is set once chromium dropped a request for a network change (retryable).
	netChanged bool
}

// newTab opens a tab in a fresh browser context (its own cookie jar) named after the
// user, for the screenshots.
func (b *browser) newTab(name string) *tab {
	t := b.t
	t.Helper()
	tb := &tab{b: b, t: t, name: name, intended: map[string]bool{},
		// A page naming no icon gets chromium asking for /favicon.ico on its own; not the
		// page's doing (a <link rel=icon> into /ui/static/ is fine as well).
		failing: map[string]bool{b.origin + "/favicon.ico": true}}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(tb.observe))
	t.Cleanup(cancel)
	tb.ctx = ctx
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a tab for %s: %v", name, err)
	}
	return tb
}

// observe runs in the tab's event loop: it only records (and dismisses dialogs from
// another goroutine, since a command may not run here).
func (tb *tab) observe(ev any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	switch ev := ev.(type) {
	case *page.EventJavascriptDialogOpening:
		tb.dialogs = append(tb.dialogs, fmt.Sprintf("%s dialog %q on %s", ev.Type, ev.Message, ev.URL))
		go chromedp.Call(tb.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert || ev.Type == runtime.ConsoleAPICalledTypeWarning {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			tb.problems = append(tb.problems, fmt.Sprintf("console.%s(%s)", ev.Type, strings.Join(args, ", ")))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		tb.problems = append(tb.problems, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, msg))
	case *log.EventEntryAdded:
		if e := ev.Entry; (e.Level == log.EntryLevelError || e.Level == log.EntryLevelWarning) &&
			!(e.Source == log.EntrySourceNetwork && tb.failing[e.URL]) {
			tb.problems = append(tb.problems, fmt.Sprintf("log %s %s: %s (%s)", e.Level, e.Source, e.Text, e.URL))
		}
	case *network.EventRequestWillBeSent:
		tb.requests = append(tb.requests, ev.Request.URL)
	case *page.EventFrameRequestedNavigation:
		tb.navs = append(tb.navs, ev.URL)
	case *page.EventFrameNavigated:
		if ev.Frame.ParentID == "" {
			tb.navs = append(tb.navs, ev.Frame.URL)
		}
	}
}

// record is what the tab saw since the last reset.
type record struct {
	dialogs, problems, requests, navs []string
	netChanged                        bool
}

// reset returns what was recorded so far and starts afresh.
func (tb *tab) reset() record {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	r := record{tb.dialogs, tb.problems, tb.requests, tb.navs, tb.netChanged}
	tb.dialogs, tb.problems, tb.requests, tb.navs, tb.netChanged = nil, nil, nil, nil, false
	return r
}

// checkQuiet fails the test if the tab showed a dialog, logged an error or exception, or
// requested or navigated to anything but a /ui/ URL of the gateway's own origin.
func (tb *tab) checkQuiet(what string) {
	tb.t.Helper()
	r := tb.reset()
	for _, d := range r.dialogs {
		tb.t.Errorf("%s: %s", what, d)
	}
	for _, p := range r.problems {
		if r.netChanged && (strings.Contains(p, "ERR_NETWORK_CHANGED") || strings.HasPrefix(p, "log error network:")) {
			continue
		}
		tb.t.Errorf("%s: %s", what, p)
	}
	for _, u := range r.requests {
		// Beside the page's own: the test's navigations, chromium's own /favicon.ico, and
		// data: images of chromium's own widgets (the datetime-local calendar icon), which
		// reach no server. Injected markup is checked for separately (checkInert).
		if !tb.ownUI(u) && !tb.isIntended(u) && !strings.HasPrefix(u, "data:image/") && u != tb.b.origin+"/favicon.ico" {
			tb.t.Errorf("%s: request the page did not intend: %q", what, u)
		}
	}
	for _, u := range r.navs {
		if r.netChanged && strings.HasPrefix(u, "chrome-error://") {
			continue
		}
		if !tb.ownUI(u) && !tb.isIntended(u) {
			tb.t.Errorf("%s: navigation the page did not intend: %q", what, u)
		}
	}
}

func (tb *tab) isIntended(u string) bool {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return tb.intended[u]
}

// ownUI reports whether u is a /ui/ URL on the gateway's origin.
func (tb *tab) ownUI(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	return p.Scheme == "https" && p.Host == tb.b.g.Addr && strings.HasPrefix(p.Path, "/ui/")
}

// do runs steps with the step timeout, failing the test with what.
func (tb *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, browserTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatalf("%s (%s): %v", what, tb.name, err)
	}
}

// runIn runs one action returning a value, failing the test with what.
func runIn[T any](tb *tab, what string, a chromedp.Action[T]) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, browserTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		tb.t.Fatalf("%s (%s): %v", what, tb.name, err)
	}
	return v
}

// open navigates to path on the gateway and returns the main document's HTTP status
// (after redirects).
func (tb *tab) open(path string) int64 {
	tb.t.Helper()
	tb.mu.Lock()
	tb.intended[tb.b.origin+path] = true
	tb.mu.Unlock()
	var resp *network.Response
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(tb.ctx, browserTimeout)
		var err error
		resp, err = chromedp.Run(ctx, chromedp.NavigateResponse(tb.b.origin+path))
		cancel()
		if tb.retryable(err, try, "GET "+path) {
			continue
		}
		if err != nil {
			tb.t.Fatalf("GET %s (%s): %v", path, tb.name, err)
		}
		break
	}
	if resp == nil {
		tb.t.Fatalf("GET %s: no response", path)
	}
	tb.checkHeaders(resp)
	return resp.Status
}

// uiHeaders are the headers the contract puts on every /ui/ page.
var uiHeaders = map[string]string{
	"content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	"x-content-type-options":  "nosniff",
	"referrer-policy":         "same-origin",
	"cache-control":           "no-store",
}

// checkHeaders checks the security headers of a /ui/ page the browser received.
func (tb *tab) checkHeaders(resp *network.Response) {
	tb.t.Helper()
	if !tb.ownUI(resp.URL) {
		return
	}
	got := map[string]string{}
	for k, v := range resp.Headers {
		got[strings.ToLower(k)] = fmt.Sprint(v)
	}
	for k, v := range uiHeaders {
		if got[k] != v {
			tb.t.Errorf("%s: %s %q, want %q", resp.URL, k, got[k], v)
		}
	}
}

// submit clicks sel (a submit button) and waits for the page it leads to, returning its
// status.
func (tb *tab) submit(sel string) int64 {
	tb.t.Helper()
	// The form's fields as they are now, to post them again should chromium drop the
	// request (see retryable).
	form := eval[string](tb, fmt.Sprintf(`(() => {
		const b = document.querySelector(%q), f = b && b.form;
		if (!f) return "";
		const fields = Array.from(new FormData(f));
		if (b.name) fields.push([b.name, b.value]);
		return JSON.stringify({action: f.action, method: f.method, fields});
	})()`, sel))
	return tb.navigateBy("clicking "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible),
		fmt.Sprintf(`(() => {
			const d = %s, f = document.createElement("form");
			f.action = d.action; f.method = d.method;
			for (const [k, v] of d.fields) {
				const i = document.createElement("input"); i.type = "hidden"; i.name = k; i.value = v; f.appendChild(i);
			}
			document.documentElement.appendChild(f); f.submit();
		})()`, form))
}

// follow clicks the link sel and returns the status of the page it leads to.
func (tb *tab) follow(sel string) int64 {
	tb.t.Helper()
	return tb.navigateBy("following "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible),
		fmt.Sprintf(`document.querySelector(%q).click()`, sel))
}

// submitScript evaluates js, which submits a form, and waits for the page it leads to,
// returning its status.
func (tb *tab) submitScript(js string) int64 {
	tb.t.Helper()
	return tb.navigateBy("script submitting a form", chromedp.Evaluate[chromedp.Void](js), js)
}

// navigateBy runs action, which leads to another page, and returns that page's status.
// When chromium drops the navigation (retryable), it opens the page the action started
// from again, by GET, and runs the script again there: the same origin, cookies and
// fields as the first try.
func (tb *tab) navigateBy(what string, action chromedp.Action[chromedp.Void], again string) int64 {
	tb.t.Helper()
	from := runIn(tb, "location", chromedp.Location())
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(tb.ctx, browserTimeout)
		resp, err := chromedp.RunResponse(ctx, action)
		cancel()
		if tb.retryable(err, try, what) {
			tb.do("back to "+from, chromedp.Navigate(from))
			action = chromedp.Evaluate[chromedp.Void](again)
			continue
		}
		if err != nil {
			tb.t.Fatalf("%s (%s): %v", what, tb.name, err)
		}
		if resp == nil {
			tb.t.Fatalf("%s (%s): no page loaded", what, tb.name)
		}
		tb.checkHeaders(resp)
		return resp.Status
	}
}

// retryable reports whether err is chromium dropping a request because the machine's
// network changed (net::ERR_NETWORK_CHANGED: another process, such as a container engine
// driven by a parallel test, added or removed an interface) and the try may be repeated.
// Nothing of the page's doing; the error page and log entries it leaves are forgiven.
func (tb *tab) retryable(err error, try int, what string) bool {
	if err == nil || !strings.Contains(err.Error(), "ERR_NETWORK_CHANGED") || try == 3 {
		return false
	}
	tb.t.Logf("%s (%s), try %d: %v; again", what, tb.name, try, err)
	tb.mu.Lock()
	tb.netChanged = true
	tb.mu.Unlock()
	return true
}

// location returns the tab's current URL path and query.
func (tb *tab) location() string {
	tb.t.Helper()
	loc := runIn(tb, "location", chromedp.Location())
	p, err := url.Parse(loc)
	if err != nil {
		tb.t.Fatal(err)
	}
	return p.RequestURI()
}

// eval evaluates a JavaScript expression in the page and decodes its result.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	return runIn(tb, "evaluating "+expr, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// text returns the text of the first element matching sel (waiting for it).
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	return strings.TrimSpace(runIn(tb, "text of "+sel, chromedp.TextContent(chromedp.CSS(sel))))
}

// count returns how many elements match sel now (no wait).
func (tb *tab) count(sel string) int {
	tb.t.Helper()
	return eval[int](tb, fmt.Sprintf("document.querySelectorAll(%q).length", sel))
}

// texts returns the trimmed textContent of every element matching sel now.
func (tb *tab) texts(sel string) []string {
	tb.t.Helper()
	return eval[[]string](tb, fmt.Sprintf("Array.from(document.querySelectorAll(%q), e => e.textContent.trim())", sel))
}

// screenshot saves the whole page as NAME.png in the screenshot directory.
func (tb *tab) screenshot(name string) string {
	tb.t.Helper()
	// Chromium now and then answers "Cannot take screenshot with 0 width" for a tab of a
	// background window while it lays out; wait until the page has a size and retry.
	var png []byte
	for try := 1; ; try++ {
		tb.do("page laid out", chromedp.Poll[chromedp.Void](`document.readyState === "complete" && window.innerWidth > 0 && document.documentElement.scrollWidth > 0`,
			chromedp.WithPollingTimeout(browserTimeout/2)))
		ctx, cancel := context.WithTimeout(tb.ctx, browserTimeout)
		var err error
		png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
		cancel()
		if err == nil {
			break
		}
		if try == 3 || !strings.Contains(err.Error(), "0 width") {
			tb.t.Fatalf("screenshot %s (%s): %v", name, tb.name, err)
		}
		tb.t.Logf("screenshot %s, try %d: %v", name, try, err)
	}
	file := filepath.Join(tb.b.shots, name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	return file
}

// cookie returns the tab's cookie name for the gateway's /ui/ (nil if none).
func (tb *tab) cookie(name string) *network.Cookie {
	tb.t.Helper()
	res := runIn(tb, "cookies", func(ctx context.Context, _ *chromedp.Target) (*network.GetCookiesResult, error) {
		r, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{tb.b.origin + "/ui/"}})
		return &r, err
	})
	for _, c := range res.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// in makes the tab fail t (a subtest) from now on; the tab is used by one goroutine at a
// time.
func (tb *tab) in(t *testing.T) *tab {
	tb.t = t
	return tb
}

// allowStatus says that the document at path answers with an error status on purpose,
// so the browser's "Failed to load resource" entry for it is not a problem.
func (tb *tab) allowStatus(path string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.failing[tb.b.origin+path] = true
}
