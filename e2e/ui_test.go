package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestWebUI drives the web UI (/ui/, issue 15) in Debian's chromium against the real
// binary with its defaults (bundled registry, self-signed TLS, UI on) plus users, groups,
// a policy and the audit trail: sign-in, the repositories a user may pull and no other,
// a multi-platform image with its referrer, the copy button, delete as the owner through
// the confirmation page, no delete for anyone else (and a forced request refused, as is
// another site's form in the owner's browser), pages of hostile pushed content rendered
// as inert text with no console error and no request the page did not intend, the audit
// page for admins only, and sign-out; the security headers on every page, labels,
// keyboard sign-in and a phone's width along the way. Screenshots of
// each page go to the test's artifact directory (go test -artifacts keeps them);
// E2E_UI_DOCS=1 also refreshes the two in docs/.
func TestWebUI(t *testing.T) {
	t.Parallel()
	began := time.Now()
	data := t.TempDir()
	g := startGateway(t, data, append(uiAuthFlags(t), "--audit-log", filepath.Join(data, "audit.log"))...)
	f := pushUIFixtures(t, g)
	shots := t.ArtifactDir()
	t.Logf("screenshots: %s", shots)
	br := newBrowser(t, g, shots)
	alice, bob, carol := br.newTab(uiOwner), br.newTab(uiOther), br.newTab(uiAdmin)
	var aliceSession *network.Cookie

	t.Run("sign in", func(t *testing.T) {
		tb := alice.in(t)
		checkUIHeaders(t, g, "/ui/login")
		if got := redirectOf(t, g, "/", "text/html,application/xhtml+xml", nil); got != "/ui/" {
			t.Errorf("GET / from a browser redirects to %q, want /ui/", got)
		}
		tb.open("/")
		if loc := tb.location(); loc != "/ui/login" {
			t.Fatalf("/ signed out ends at %s, want /ui/login", loc)
		}
		tb.screenshot("login")
		tb.fillLogin(uiOwner, "wrong-password")
		tb.allowStatus("/ui/login")
		if st := tb.submit("#login button[type=submit]"); st == http.StatusOK || st >= 500 {
			t.Errorf("a wrong password answered %d", st)
		}
		if n := tb.count(`p.error[role="alert"]`); n != 1 {
			t.Fatalf("a wrong password shows %d p.error[role=alert], want 1", n)
		}
		wrongPassword := tb.text(`p.error[role="alert"]`)
		tb.checkAccessible("login page")
		tb.fillLogin("mallory", "wrong-password")
		tb.submit("#login button[type=submit]")
		if unknown := tb.text(`p.error[role="alert"]`); unknown != wrongPassword {
			t.Errorf("an unknown user is told %q, a wrong password %q: the form tells them apart", unknown, wrongPassword)
		}
		tb.signIn(uiOwner, uiOwnerPass)
		if user := tb.text("#user"); user != uiOwner {
			t.Errorf("nav says signed in as %q, want %s", user, uiOwner)
		}
		c := tb.cookie("portcullis_session")
		if c == nil {
			t.Fatal("no portcullis_session cookie after sign-in")
		}
		if !c.HTTPOnly || !c.Secure || c.SameSite != network.CookieSameSiteStrict || c.Path != "/ui/" {
			t.Errorf("session cookie HttpOnly=%v Secure=%v SameSite=%q Path=%q, want true, true, Strict, /ui/", c.HTTPOnly, c.Secure, c.SameSite, c.Path)
		}
		if left := time.Until(time.Unix(int64(c.Expires), 0)); left <= 0 || left > time.Hour+time.Minute {
			t.Errorf("session cookie expires in %v, want within the 1h session TTL", left)
		}
		if strings.Contains(c.Value, uiOwnerPass) {
			t.Error("the session cookie holds the password")
		}
		aliceSession = c
		tb.checkQuiet("sign-in")
		bob.in(t).signIn(uiOther, uiOtherPass)
		carol.in(t).signInKeyboard(uiAdmin, uiAdminPass)
	})

	t.Run("only permitted repositories", func(t *testing.T) {
		tb := alice.in(t)
		tb.open("/ui/repos")
		want := []string{uiHostileRepo, uiAppRepo, uiPrivateRepo}
		slices.Sort(want)
		if got := tb.repoList(); !slices.Equal(got, want) {
			t.Errorf("%s sees %q, want %q", uiOwner, got, want)
		}
		tb.screenshot("repositories")
		copyToDocs(t, tb, "repositories")
		tb.checkAccessible("repositories page")
		tb.do("filter", chromedp.SendKeys(chromedp.ID("filter"), "priv"))
		if got := eval[[]string](tb, `Array.from(document.querySelectorAll("#repos li"), li => li).filter(li => li.offsetParent !== null).map(li => li.textContent.trim())`); !slices.Equal(got, []string{uiPrivateRepo}) {
			t.Errorf("after typing %q in the filter the visible repositories are %q, want [%s]", "priv", got, uiPrivateRepo)
		}
		tb.checkQuiet("repositories (" + uiOwner + ")")

		tb = bob.in(t)
		tb.open("/ui/repos")
		if got := tb.repoList(); !slices.Equal(got, []string{uiAppRepo, uiHostileRepo}) {
			t.Errorf("%s sees %q, want [%s %s]", uiOther, got, uiAppRepo, uiHostileRepo)
		}
		hidden, missing := "/ui/r/"+uiPrivateRepo, "/ui/r/"+uiOwner+"/no-such-repo"
		tb.allowStatus(hidden)
		tb.allowStatus(missing)
		if st := tb.open(hidden); st != http.StatusNotFound {
			t.Errorf("%s opening %s: %d, want 404", uiOther, hidden, st)
		}
		forbidden := tb.text(`p.error[role="alert"]`)
		if st := tb.open(missing); st != http.StatusNotFound {
			t.Errorf("%s opening %s: %d, want 404", uiOther, missing, st)
		}
		if absent := tb.text(`p.error[role="alert"]`); absent != forbidden {
			t.Errorf("a repository bob may not pull says %q, one that does not exist %q: the page tells them apart", forbidden, absent)
		}
		tb.checkQuiet("repositories (" + uiOther + ")")
	})

	t.Run("multi-platform image with a referrer", func(t *testing.T) {
		tb := alice.in(t)
		tb.open("/ui/r/" + uiAppRepo)
		if got := tb.text("#repo-name"); got != uiAppRepo {
			t.Errorf("h1#repo-name %q, want %s", got, uiAppRepo)
		}
		tags := eval[[]string](tb, `Array.from(document.querySelectorAll("#tags tr.tag"), tr => tr.dataset.tag).sort()`)
		if !slices.Equal(tags, []string{"1.0", "amd64", "old"}) {
			t.Errorf("tags %q, want [1.0 amd64 old]", tags)
		}
		row := `#tags tr.tag[data-tag="1.0"] `
		if p := tb.text(row + "td.platforms"); !strings.Contains(p, "linux/amd64") || !strings.Contains(p, "linux/arm64") {
			t.Errorf("platforms of the index: %q, want linux/amd64 and linux/arm64", p)
		}
		if href := tb.attr(row+"td.digest a.manifest", "href"); href != "/ui/m/"+uiAppRepo+"@"+f.index.String() {
			t.Errorf("the index's link %q, want /ui/m/%s@%s", href, uiAppRepo, f.index)
		}
		if c := tb.text(`#tags tr.tag[data-tag="amd64"] td.created`); !strings.Contains(c, "2024-05-01") {
			t.Errorf("created of the amd64 image %q, want the config's 2024-05-01", c)
		}
		if s := tb.text(row + "td.media-type"); s != "application/vnd.oci.image.index.v1+json" {
			t.Errorf("media type of the index %q", s)
		}
		if title := tb.attr(row+"td.size", "title"); title == "" || strings.Trim(title, "0123456789") != "" {
			t.Errorf("td.size title %q, want the byte count in digits", title)
		}
		tb.checkAccessible("repository page")
		tb.screenshot("repository")
		tb.follow(row + "td.digest a.manifest")
		if loc := tb.location(); loc != "/ui/m/"+uiAppRepo+"@"+f.index.String() {
			t.Errorf("the index's page is %s", loc)
		}
		if dl := tb.text("#manifest"); !strings.Contains(dl, f.index.String()) {
			t.Errorf("dl#manifest lacks the digest %s: %q", f.index, dl)
		}
		if got := tb.texts("#platforms tr.platform td.platform"); !slices.Equal(got, []string{"linux/amd64", "linux/arm64"}) {
			t.Errorf("platforms %q, want [linux/amd64 linux/arm64]", got)
		}
		children := eval[[]string](tb, `Array.from(document.querySelectorAll("#platforms tr.platform a.manifest"), a => a.getAttribute("href"))`)
		if wantChildren := []string{"/ui/m/" + uiAppRepo + "@" + f.amd64.String(), "/ui/m/" + uiAppRepo + "@" + f.arm64.String()}; !slices.Equal(children, wantChildren) {
			t.Errorf("platform links %q, want %q", children, wantChildren)
		}
		if got := tb.texts("#referrers tr.referrer td.artifact-type"); !slices.Equal(got, []string{sigstoreType}) {
			t.Errorf("referrers' artifact types %q, want [%s]", got, sigstoreType)
		}
		if d := tb.text("#referrers tr.referrer td.digest"); !strings.Contains(d, f.referrer.String()) {
			t.Errorf("referrer digest %q, want %s", d, f.referrer)
		}
		tb.screenshot("manifest")
		copyToDocs(t, tb, "manifest")
		tb.checkAccessible("manifest page")
		tb.checkPhone("manifest-phone")
		tb.checkQuiet("index page")

		tb.open("/ui/m/" + uiAppRepo + "@" + f.arm64.String())
		if n := tb.count("#layers tr.layer"); n != 1 {
			t.Errorf("the arm64 image shows %d layers, want 1", n)
		}
		if c := tb.text("#config"); !strings.Contains(c, "2024-05-02") || !strings.Contains(c, "arm64") {
			t.Errorf("section#config %q, want the created time 2024-05-02 and arm64", c)
		}
		tb.screenshot("image")
		tb.checkQuiet("image page")
	})

	t.Run("copy the pull command", func(t *testing.T) {
		tb := alice.in(t)
		tb.grantClipboard()
		tb.open("/ui/m/" + uiAppRepo + "@" + f.index.String())
		want := "docker pull " + g.Addr + "/" + uiAppRepo + "@" + f.index.String()
		if got := tb.text("#docker-pull"); got != want {
			t.Errorf("code#docker-pull %q, want %q", got, want)
		}
		if got, want := tb.text("#podman-pull"), "podman pull "+g.Addr+"/"+uiAppRepo+"@"+f.index.String(); got != want {
			t.Errorf("code#podman-pull %q, want %q", got, want)
		}
		btn := `button.copy[data-copy="docker-pull"]`
		tb.do("copy", chromedp.Click(chromedp.CSS(btn), chromedp.NodeVisible))
		tb.do("button says Copied", chromedp.Poll[chromedp.Void](
			fmt.Sprintf(`document.querySelector(%q).textContent.trim() === "Copied"`, btn),
			chromedp.WithPollingTimeout(10*time.Second)))
		if got := eval[string](tb, `navigator.clipboard.readText()`); got != want {
			t.Errorf("clipboard holds %q, want %q", got, want)
		}
		tb.checkQuiet("copy")
	})

	t.Run("delete as the owner", func(t *testing.T) {
		tb := alice.in(t)
		tb.open("/ui/r/" + uiAppRepo)
		if n := tb.count("#tags form.delete"); n != 3 {
			t.Errorf("the owner sees %d delete forms, want one per tag (3)", n)
		}
		tb.submit(`#tags tr.tag[data-tag="old"] form.delete button`)
		if tb.count("#confirm-delete") != 1 {
			t.Fatalf("no form#confirm-delete after Delete (at %s)", tb.location())
		}
		if r := tb.text("#gc-reminder"); !strings.Contains(r, "gateway gc") {
			t.Errorf("p#gc-reminder %q does not name gateway gc", r)
		}
		tb.screenshot("delete-confirmation")
		tb.checkAccessible("delete confirmation")
		if resp, _ := g.call(t, "GET", "/v2/"+uiAppRepo+"/manifests/old", uiOwner, uiOwnerPass, nil, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("before confirming, GET manifests/old = %d, want 200", resp.StatusCode)
		}
		tb.submit("#confirm-delete button")
		if loc := tb.location(); loc != "/ui/r/"+uiAppRepo+"?deleted=old" {
			t.Errorf("after the delete the page is %s, want /ui/r/%s?deleted=old", loc, uiAppRepo)
		}
		if n := tb.count(`p.notice[role="status"]`); n != 1 {
			t.Errorf("%d p.notice[role=status] after the delete, want 1", n)
		}
		if n := tb.count(`#tags tr.tag[data-tag="old"]`); n != 0 {
			t.Error("the deleted tag is still listed")
		}
		if resp, _ := g.call(t, "GET", "/v2/"+uiAppRepo+"/manifests/old", uiOwner, uiOwnerPass, nil, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("after the delete, GET manifests/old = %d, want 404", resp.StatusCode)
		}
		if resp, _ := g.call(t, "GET", "/v2/"+uiAppRepo+"/manifests/amd64", uiOwner, uiOwnerPass, nil, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("after deleting old, GET manifests/amd64 = %d, want 200", resp.StatusCode)
		}
		tb.checkQuiet("delete")
	})

	t.Run("no delete for a non-owner", func(t *testing.T) {
		tb := bob.in(t)
		tb.open("/ui/r/" + uiAppRepo)
		if n := tb.count("form.delete"); n != 0 {
			t.Errorf("%s sees %d delete forms in %s", uiOther, n, uiAppRepo)
		}
		tb.open("/ui/m/" + uiAppRepo + "@" + f.index.String())
		if n := tb.count("form.delete"); n != 0 {
			t.Errorf("%s sees %d delete forms on the index page", uiOther, n)
		}
		csrf := eval[string](tb, `document.querySelector('#signout input[name="csrf"]').value`)
		if csrf == "" {
			t.Fatal("no csrf in form#signout")
		}
		// The forced request from bob's own page: a form he was never shown, with his
		// session cookie and a valid CSRF token. (DevTools' evaluation is not bound by the
		// page's CSP; a page script could not do this.)
		tb.allowStatus("/ui/delete")
		st := tb.submitScript(fmt.Sprintf(`(() => {
			const f = document.createElement("form");
			f.method = "post"; f.action = "/ui/delete";
			for (const [k, v] of Object.entries({repo: %q, ref: "1.0", csrf: %q, confirm: "yes"})) {
				const i = document.createElement("input"); i.type = "hidden"; i.name = k; i.value = v; f.appendChild(i);
			}
			document.body.appendChild(f); f.submit();
		})()`, uiAppRepo, csrf))
		if st != http.StatusForbidden {
			t.Errorf("forced POST /ui/delete as %s from the browser: %d, want 403", uiOther, st)
		}
		if n := tb.count(`p.error[role="alert"]`); n != 1 {
			t.Errorf("the refusal shows %d p.error[role=alert], want 1", n)
		}
		// The same with a plain client holding bob's cookie and token.
		c := tb.cookie("portcullis_session")
		if c == nil {
			t.Fatal("bob has no session cookie")
		}
		form := url.Values{"repo": {uiAppRepo}, "ref": {f.index.String()}, "csrf": {csrf}, "confirm": {"yes"}}
		if st, _ := uiPost(t, g, "/ui/delete", c.Value, form); st != http.StatusForbidden {
			t.Errorf("forced POST /ui/delete of the index by digest as %s: %d, want 403", uiOther, st)
		}
		for _, ref := range []string{"1.0", f.index.String()} {
			if resp, _ := g.call(t, "GET", "/v2/"+uiAppRepo+"/manifests/"+ref, uiOwner, uiOwnerPass, nil, nil); resp.StatusCode != http.StatusOK {
				t.Errorf("after the refused deletes, GET manifests/%s = %d, want 200", ref, resp.StatusCode)
			}
		}
		tb.checkQuiet("non-owner")
	})

	t.Run("hostile content is inert text", func(t *testing.T) {
		tb := alice.in(t)
		tb.reset()
		tb.open("/ui/repos")
		tb.do("hostile filter", chromedp.SendKeys(chromedp.ID("filter"), `<img src=x onerror=alert(5)>"'&`))
		tb.checkInert("repositories with a hostile filter")

		q := `<script>alert(7)</script>`
		tb.open("/ui/repos?" + url.Values{"q": {q}, "last": {`"><img src=x onerror=alert(8)>`}}.Encode())
		if v := runIn(tb, "filter value", chromedp.Value(chromedp.ID("filter"))); v != q {
			t.Errorf("a hostile ?q= comes back in the filter box as %q, want the literal %q", v, q)
		}
		tb.checkInert("repositories with a hostile query")

		tb.open("/ui/r/" + uiHostileRepo)
		tags := eval[[]string](tb, `Array.from(document.querySelectorAll("#tags tr.tag"), tr => tr.dataset.tag).sort()`)
		if want := slices.Sorted(slices.Values(hostileTags)); !slices.Equal(tags, want) {
			t.Errorf("hostile tags listed %q, want %q", tags, want)
		}
		if got := tb.texts("#tags tr.tag td.tag-name"); len(got) != len(hostileTags) {
			t.Errorf("tag names shown %q", got)
		}
		tb.checkInert("hostile repository page")
		tb.screenshot("hostile-repository")

		for _, tag := range hostileTags {
			tb.open("/ui/m/" + uiHostileRepo + ":" + tag)
			got := eval[map[string]string](tb, `Object.fromEntries(Array.from(document.querySelectorAll("#annotations tr.annotation"), tr => [tr.querySelector("th").textContent.trim(), tr.querySelector("td").textContent.trim()]))`)
			for k, v := range hostileAnnotations {
				if got[k] != v {
					t.Errorf("%s:%s annotation %q shows %q, want the literal %q", uiHostileRepo, tag, k, got[k], v)
				}
			}
			if c := tb.text("#config"); !strings.Contains(c, hostileArch) {
				t.Errorf("%s:%s section#config %q lacks the literal architecture %q", uiHostileRepo, tag, c, hostileArch)
			}
			if got := tb.texts("#referrers tr.referrer td.artifact-type"); !slices.Equal(got, []string{hostileArtifactType}) {
				t.Errorf("%s:%s referrers' artifact types %q, want the literal [%s]", uiHostileRepo, tag, got, hostileArtifactType)
			}
			tb.checkInert("hostile manifest page " + tag)
		}
		tb.screenshot("hostile-manifest")
		tb.open("/ui/m/" + uiHostileRepo + "@" + f.hostile.String())
		tb.checkInert("hostile manifest page by digest")
		tb.checkQuiet("hostile pages")
	})

	t.Run("cross-site form refused", func(t *testing.T) {
		// Another site's page posts a delete form to the gateway in alice's browser, with
		// her real CSRF token even: the SameSite=Strict cookie stays home and the Origin
		// is foreign, so nothing is deleted.
		tb := alice.in(t)
		tb.open("/ui/r/" + uiAppRepo)
		csrf := eval[string](tb, `document.querySelector('#signout input[name="csrf"]').value`)
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!doctype html><title>win a prize</title>
<form id="evil" method="post" action="%s/ui/delete">
<input type="hidden" name="repo" value="%s"><input type="hidden" name="ref" value="amd64">
<input type="hidden" name="csrf" value="%s"><input type="hidden" name="confirm" value="yes">
<button type="submit">Claim</button></form>`, g.URL, uiAppRepo, csrf)
		}))
		defer evil.Close()
		tb.do("the other site", chromedp.Navigate(evil.URL))
		st := tb.submit("#evil button")
		tb.reset() // the other site's page and the refusal are the test's doing
		loc := tb.location()
		if st < 400 && loc != "/ui/login" {
			t.Errorf("a cross-site POST /ui/delete answered %d at %s, want a refusal", st, loc)
		}
		t.Logf("cross-site POST /ui/delete: %d at %s", st, loc)
		if resp, _ := g.call(t, "GET", "/v2/"+uiAppRepo+"/manifests/amd64", uiOwner, uiOwnerPass, nil, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("after the cross-site POST, GET manifests/amd64 = %d, want 200", resp.StatusCode)
		}
		tb.open("/ui/repos")
		if user := tb.text("#user"); user != uiOwner {
			t.Errorf("after the cross-site attempt alice is no longer signed in (%q)", user)
		}
		tb.checkQuiet("cross-site")
	})

	t.Run("audit for admins only", func(t *testing.T) {
		tb := carol.in(t)
		tb.open("/ui/repos")
		if tb.count("#nav-audit") != 1 {
			t.Errorf("%s (admins) has no a#nav-audit", uiAdmin)
		}
		if st := tb.follow("#nav-audit"); st != http.StatusOK {
			t.Fatalf("%s following Audit: %d", uiAdmin, st)
		}
		if n := tb.count("#audit tr.record"); n == 0 {
			t.Error("no audit records shown")
		}
		rows := tb.auditRows()
		if !hasRecord(rows, uiOwner, "push", uiAppRepo) {
			t.Errorf("no push of %s by %s among %d records", uiAppRepo, uiOwner, len(rows))
		}
		if !hasRecord(rows, uiOwner, "delete", uiAppRepo) {
			t.Errorf("no delete of %s by %s among %d records", uiAppRepo, uiOwner, len(rows))
		}
		if s := tb.text("#chain-status"); !strings.Contains(s, "verified") {
			t.Errorf("p#chain-status %q, want the chain verified", s)
		}
		tb.screenshot("audit")
		tb.checkAccessible("audit page")
		tb.open("/ui/audit?" + url.Values{"user": {uiOwner}, "action": {"delete"}}.Encode())
		rows = tb.auditRows()
		if len(rows) == 0 {
			t.Errorf("filtering user=%s action=delete shows nothing", uiOwner)
		}
		for _, r := range rows {
			if r.user != uiOwner || r.action != "delete" {
				t.Errorf("filter user=%s action=delete shows %+v", uiOwner, r)
			}
		}
		tb.open("/ui/audit?denied=1")
		rows = tb.auditRows()
		if !slices.ContainsFunc(rows, func(r auditRow) bool { return r.user == uiOther }) {
			t.Errorf("denied=1 shows no refusal of %s (his forced delete, his look at %s) among %d rows", uiOther, uiPrivateRepo, len(rows))
		}
		for _, r := range rows {
			if !strings.Contains(strings.ToLower(r.decision), "den") {
				t.Errorf("denied=1 shows %+v", r)
			}
		}
		tb.checkQuiet("audit")

		tb = bob.in(t)
		tb.open("/ui/repos")
		if tb.count("#nav-audit") != 0 {
			t.Errorf("%s sees a#nav-audit", uiOther)
		}
		tb.allowStatus("/ui/audit")
		if st := tb.open("/ui/audit"); st != http.StatusNotFound {
			t.Errorf("%s opening /ui/audit: %d, want 404", uiOther, st)
		}
		if tb.count("#audit") != 0 {
			t.Errorf("%s is shown table#audit", uiOther)
		}
		tb.checkQuiet("audit as " + uiOther)
	})

	t.Run("sign out", func(t *testing.T) {
		tb := alice.in(t)
		tb.open("/ui/r/" + uiAppRepo)
		if tb.count("#tags tr.tag") == 0 {
			t.Fatal("no tag rows before sign-out")
		}
		tb.submit("#signout button")
		if loc := tb.location(); loc != "/ui/login" {
			t.Errorf("after sign-out the page is %s, want /ui/login", loc)
		}
		if c := tb.cookie("portcullis_session"); c != nil && c.Value != "" {
			t.Errorf("the session cookie survived sign-out: %+v", c)
		}
		// Back to the repository page: no-store, so nothing of it comes back from a cache.
		tb.do("back", chromedp.NavigateBack())
		if n, rows := tb.count("#user"), tb.count("#tags tr.tag"); n != 0 || rows != 0 {
			t.Errorf("Back after sign-out shows %d #user and %d tag rows at %s", n, rows, tb.location())
		}
		tb.open("/ui/repos")
		if loc := tb.location(); loc != "/ui/login" {
			t.Errorf("/ui/repos after sign-out ends at %s, want /ui/login", loc)
		}
		if aliceSession == nil {
			t.Fatal("no session cookie was captured at sign-in")
		}
		// The old cookie, replayed: the session was revoked on the server.
		if got := redirectOf(t, g, "/ui/repos", "text/html", &http.Cookie{Name: "portcullis_session", Value: aliceSession.Value}); got != "/ui/login" {
			t.Errorf("GET /ui/repos with the signed-out cookie redirects to %q, want /ui/login", got)
		}
		tb.checkQuiet("sign-out")
	})
	t.Logf("browser test took %v (fixtures, chromium and every step)", time.Since(began).Round(time.Millisecond))
}

// signIn fills the login form and submits it, ending on /ui/repos.
func (tb *tab) signIn(user, pass string) {
	tb.t.Helper()
	tb.open("/ui/login")
	tb.fillLogin(user, pass)
	tb.submit("#login button[type=submit]")
	if loc := tb.location(); loc != "/ui/repos" {
		tb.t.Fatalf("signing in as %s ends at %s, want /ui/repos", user, loc)
	}
}

// signInKeyboard signs in with the keyboard only: the user name, Tab to the password,
// Enter.
func (tb *tab) signInKeyboard(user, pass string) {
	tb.t.Helper()
	tb.open("/ui/login")
	tb.do("type the user name", chromedp.Focus(chromedp.ID("username")), chromedp.KeyEvent(user), chromedp.KeyEvent("\t"))
	if id := eval[string](tb, "document.activeElement.id"); id != "password" {
		tb.t.Fatalf("Tab from the user name lands on %q, want the password", id)
	}
	tb.do("type the password", chromedp.KeyEvent(pass))
	tb.navigateBy("Enter in the login form", chromedp.KeyEvent("\r"), fmt.Sprintf(`(() => {
		document.getElementById("username").value = %q;
		document.getElementById("password").value = %q;
		document.getElementById("login").requestSubmit();
	})()`, user, pass))
	if loc := tb.location(); loc != "/ui/repos" {
		tb.t.Fatalf("signing in as %s with the keyboard ends at %s, want /ui/repos", user, loc)
	}
}

func (tb *tab) fillLogin(user, pass string) {
	tb.t.Helper()
	tb.do("login form", chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.Clear(chromedp.ID("username")), chromedp.SendKeys(chromedp.ID("username"), user),
		chromedp.Clear(chromedp.ID("password")), chromedp.SendKeys(chromedp.ID("password"), pass))
}

// repoList returns the names of the repositories listed on the page, sorted.
func (tb *tab) repoList() []string {
	tb.t.Helper()
	got := eval[[]string](tb, `Array.from(document.querySelectorAll("#repos a.repo"), a => a.textContent.trim() + " " + a.getAttribute("href"))`)
	var names []string
	for _, s := range got {
		name, href, _ := strings.Cut(s, " ")
		if href != "/ui/r/"+name {
			tb.t.Errorf("repository %q links to %q, want /ui/r/%s", name, href, name)
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// attr returns attribute name of the first element matching sel.
func (tb *tab) attr(sel, name string) string {
	tb.t.Helper()
	return eval[string](tb, fmt.Sprintf(`(document.querySelector(%q) || {getAttribute: () => "(no element)"}).getAttribute(%q) || ""`, sel, name))
}

// checkInert fails the test if the page holds anything pushed content could have made
// active: a script other than the UI's own, an element carrying an event handler,
// markup the UI never writes (img, svg, iframe, object, embed, style, b), a link or form
// that leaves /ui/ or uses javascript:, or a style attribute.
func (tb *tab) checkInert(what string) {
	tb.t.Helper()
	found := eval[[]string](tb, `(() => {
		const bad = [];
		const origin = location.origin;
		for (const s of document.scripts) {
			if (s.getAttribute("src") !== "/ui/static/app.js") bad.push("script " + s.outerHTML.slice(0, 120));
		}
		for (const e of document.querySelectorAll("img, svg, iframe, object, embed, style, b, base, meta[http-equiv], link:not([rel=stylesheet]):not([rel=icon])")) {
			bad.push("element " + e.outerHTML.slice(0, 120));
		}
		for (const l of document.querySelectorAll("link[rel=stylesheet]")) {
			if (l.getAttribute("href") !== "/ui/static/app.css") bad.push("stylesheet " + l.outerHTML.slice(0, 120));
		}
		for (const l of document.querySelectorAll("link[rel=icon]")) {
			if (!l.getAttribute("href").startsWith("/ui/static/")) bad.push("icon " + l.outerHTML.slice(0, 120));
		}
		for (const e of document.querySelectorAll("*")) {
			for (const a of e.attributes) {
				if (a.name.startsWith("on") || a.name === "style" || a.name === "srcdoc") bad.push("attribute " + a.name + "=" + a.value.slice(0, 80) + " on " + e.tagName);
			}
		}
		for (const a of document.querySelectorAll("a[href], area[href]")) {
			// html/template defuses an unsafe URL as #ZgotmplZ: a pushed value made a link.
			if (a.getAttribute("href").includes("ZgotmplZ")) bad.push("link made of a pushed value " + a.outerHTML.slice(0, 120));
			const u = new URL(a.href);
			if (u.origin !== origin || !u.pathname.startsWith("/ui/")) bad.push("link " + a.getAttribute("href"));
		}
		for (const f of document.forms) {
			const u = new URL(f.action);
			if (u.origin !== origin || !u.pathname.startsWith("/ui/")) bad.push("form action " + f.getAttribute("action"));
		}
		return bad;
	})()`)
	for _, s := range found {
		tb.t.Errorf("%s: %s", what, s)
	}
	tb.checkQuiet(what)
}

// checkAccessible checks what a screen reader and a keyboard need of every page: a
// language, one h1, a label (or aria-label) for every visible form field, a name for
// every button, header cells in every table.
func (tb *tab) checkAccessible(what string) {
	tb.t.Helper()
	found := eval[[]string](tb, `(() => {
		const bad = [];
		if (!document.documentElement.lang) bad.push("html has no lang");
		if (document.querySelectorAll("h1").length !== 1) bad.push(document.querySelectorAll("h1").length + " h1 elements");
		for (const i of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
			if (i.labels.length === 0 && !i.getAttribute("aria-label") && !i.getAttribute("aria-labelledby")) bad.push("unlabelled " + i.outerHTML.slice(0, 100));
		}
		for (const b of document.querySelectorAll("button")) {
			if (!b.textContent.trim() && !b.getAttribute("aria-label")) bad.push("nameless " + b.outerHTML.slice(0, 100));
		}
		for (const t of document.querySelectorAll("table")) {
			if (!t.querySelector("th")) bad.push("table without th: " + (t.id || "?"));
		}
		return bad;
	})()`)
	for _, s := range found {
		tb.t.Errorf("%s: %s", what, s)
	}
}

// checkPhone shows the page at a phone's width (390 CSS px, touch) and fails the test
// if the page itself scrolls sideways; it saves a screenshot as name.
func (tb *tab) checkPhone(name string) {
	tb.t.Helper()
	tb.do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch), chromedp.Reload())
	defer tb.do("desktop viewport", chromedp.ResetViewport())
	if w := eval[[]int](tb, "[document.documentElement.scrollWidth, window.innerWidth]"); w[0] > w[1] {
		tb.t.Errorf("%s: at a phone's width the page is %d px wide in a %d px viewport (sideways scrolling)", name, w[0], w[1])
	}
	// Nothing sticks out of the viewport unless it sits in a box that scrolls sideways.
	cut := eval[[]string](tb, `Array.from(document.body.querySelectorAll("*")).filter(e => {
		if (e.getBoundingClientRect().right <= window.innerWidth + 1) return false;
		for (let p = e.parentElement; p; p = p.parentElement) {
			if (["auto", "scroll"].includes(getComputedStyle(p).overflowX)) return false;
		}
		return true;
	}).map(e => e.tagName + (e.id ? "#" + e.id : "") + " " + e.textContent.trim().slice(0, 60))`)
	for _, c := range cut {
		tb.t.Errorf("%s: at a phone's width %q runs past the right edge", name, c)
	}
	tb.screenshot(name)
}

// grantClipboard lets the gateway's origin in this tab write and read the clipboard, and
// makes the headless page count as focused (the Clipboard API needs both).
func (tb *tab) grantClipboard() {
	tb.t.Helper()
	c := chromedp.FromContext(tb.ctx)
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		_, err := chromedp.CallBrowser(tb.ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission:       &cdpbrowser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true},
			Setting:          cdpbrowser.PermissionSettingGranted,
			Origin:           tb.b.origin,
			BrowserContextID: c.BrowserContextID,
		})
		if err != nil {
			tb.t.Fatalf("granting %s: %v", name, err)
		}
	}
	if _, err := chromedp.Call(tb.ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		tb.t.Fatalf("focus emulation: %v", err)
	}
}

// auditRow is one tr.record of the audit page.
type auditRow struct{ time, user, action, repository, decision, status string }

func (tb *tab) auditRows() []auditRow {
	tb.t.Helper()
	cells := eval[[][]string](tb, `Array.from(document.querySelectorAll("#audit tr.record"), tr =>
		["time", "user", "action", "repository", "decision", "status"].map(c => (tr.querySelector("td." + c) || {textContent: ""}).textContent.trim()))`)
	rows := make([]auditRow, len(cells))
	for i, c := range cells {
		rows[i] = auditRow{c[0], c[1], c[2], c[3], c[4], c[5]}
	}
	return rows
}

func hasRecord(rows []auditRow, user, action, repo string) bool {
	return slices.ContainsFunc(rows, func(r auditRow) bool {
		return r.user == user && strings.Contains(r.action, action) && r.repository == repo
	})
}

// noRedirects is a client trusting the gateway's CA that reports redirects instead of
// following them.
func noRedirects(g *gateway) *http.Client {
	c := *g.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// redirectOf GETs path with Accept (and a cookie) and returns the Location of a 302/303
// ("" with the status when it is no redirect).
func redirectOf(t *testing.T, g *gateway, path, accept string, cookie *http.Cookie) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", g.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", accept)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := noRedirects(g).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		return fmt.Sprintf("(no redirect: %d)", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

// uiPost posts a form to path with the session cookie as a same-origin browser would
// (Origin and Sec-Fetch-Site set), returning the status and body.
func uiPost(t *testing.T, g *gateway, path, session string, form url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "POST", g.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", g.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.AddCookie(&http.Cookie{Name: "portcullis_session", Value: session})
	resp, err := noRedirects(g).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// checkUIHeaders checks the security headers the contract puts on every /ui/ page, with
// a plain client (the browser's pages are checked as they load).
func checkUIHeaders(t *testing.T, g *gateway, path string) {
	t.Helper()
	resp, err := noRedirects(g).Get(g.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	resp.Body.Close()
	for k, v := range uiHeaders {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("GET %s: %s %q, want %q", path, k, got, v)
		}
	}
}

// copyToDocs copies the screenshot name into docs/ui-NAME.png when E2E_UI_DOCS is set
// (the README shows them): refresh them with
// E2E_UI_DOCS=1 go test ./e2e -run TestWebUI.
func copyToDocs(t *testing.T, tb *tab, name string) {
	t.Helper()
	if os.Getenv("E2E_UI_DOCS") == "" {
		return
	}
	b, err := os.ReadFile(filepath.Join(tb.b.shots, name+".png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(repoRoot, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repoRoot, "docs", "ui-"+name+".png"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestWebUIOff: with --ui=false the binary serves no /ui/ (404 like any unknown path) and
// sends a browser asking for / nowhere.
func TestWebUIOff(t *testing.T) {
	t.Parallel()
	g := startGateway(t, t.TempDir(), append(uiAuthFlags(t), "--ui=false")...)
	for _, path := range []string{"/ui/", "/ui/login", "/ui/static/app.js", "/ui/repos"} {
		resp, err := noRedirects(g).Get(g.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("--ui=false: GET %s = %d, want 404", path, resp.StatusCode)
		}
	}
	if got := redirectOf(t, g, "/", "text/html", nil); strings.HasPrefix(got, "/ui") {
		t.Errorf("--ui=false: GET / from a browser redirects to %s", got)
	}
}
