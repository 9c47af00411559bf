package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// uiFixture is a registry seeded for the web UI tests under the scoped policy: alice
// owns alice/* (a multi-platform image with an SBOM referrer, and hostile content); bob
// pulls and pushes payments/* (but may not delete there) and owns bob/*; public/* is
// everyone's; zeta/hidden only admins see.
type uiFixture struct {
	s             *stack
	u             *uiServer
	index         string // alice/multi:v1, an index of two images
	amd64, arm64  string // its children
	sbom          string // the referrer of the index
	hostile       string // alice/hostile:v1
	payments      string // payments/api:v1
	layerSize     int64
	amd64Created  string
	hostileMarker string
}

func newUIFixture(t *testing.T) *uiFixture {
	t.Helper()
	s := newStack(t, mustLoad(t, scopedPolicy), nil)
	f := &uiFixture{s: s, amd64Created: "2026-01-02T03:04:05Z"}
	put := func(repo, ref, mediaType string, body []byte) string {
		r := call(t, anon, http.MethodPut, s.Bare+"/v2/"+repo+"/manifests/"+ref, body, http.Header{"Content-Type": {mediaType}})
		if r.Status != http.StatusCreated {
			t.Fatalf("PUT %s:%s: %d %s", repo, ref, r.Status, r.Body)
		}
		return digestOf(body)
	}
	image := func(repo, arch, created string, annotations map[string]string) (string, []byte) {
		cfg := fmt.Appendf(nil, `{"architecture":%q,"os":"linux","created":%q,"rootfs":{"type":"layers","diff_ids":[]},"comment":"%d"}`, arch, created, unique.Add(1))
		cd := bareBlob(t, s, repo, cfg)
		layer := fmt.Appendf(nil, "layer %s %d", arch, unique.Add(1))
		ld := bareBlob(t, s, repo, layer)
		f.layerSize = int64(len(layer))
		m := map[string]any{"schemaVersion": 2, "mediaType": ociManifest,
			"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": len(cfg)},
			"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ld, "size": len(layer)}}}
		if annotations != nil {
			m["annotations"] = annotations
		}
		b, _ := json.Marshal(m)
		return digestOf(b), b
	}
	// alice/multi: an index of linux/amd64 and linux/arm64, with an SBOM referring to it.
	d1, m1 := image("alice/multi", "amd64", f.amd64Created, nil)
	f.amd64 = put("alice/multi", d1, ociManifest, m1)
	d2, m2 := image("alice/multi", "arm64", "2026-01-03T00:00:00Z", nil)
	f.arm64 = put("alice/multi", d2, ociManifest, m2)
	idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
		"manifests": []any{
			map[string]any{"mediaType": ociManifest, "digest": f.amd64, "size": len(m1), "platform": map[string]string{"os": "linux", "architecture": "amd64"}},
			map[string]any{"mediaType": ociManifest, "digest": f.arm64, "size": len(m2), "platform": map[string]string{"os": "linux", "architecture": "arm64"}},
		}})
	f.index = put("alice/multi", "v1", "application/vnd.oci.image.index.v1+json", idx)
	empty := bareBlob(t, s, "alice/multi", []byte("{}"))
	sbomLayer := bareBlob(t, s, "alice/multi", []byte(`{"spdxVersion":"SPDX-2.3"}`))
	sbom, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": ociManifest,
		"artifactType": "application/spdx+json",
		"config":       map[string]any{"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
		"layers":       []any{map[string]any{"mediaType": "application/spdx+json", "digest": sbomLayer, "size": 26}},
		"subject":      map[string]any{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": f.index, "size": len(idx)}})
	f.sbom = put("alice/multi", digestOf(sbom), ociManifest, sbom)

	// alice/hostile: markup, script and link bait wherever a pusher writes text.
	f.hostileMarker = `<script>alert("pwned")</script>`
	hd, hm := image("alice/hostile", "amd64", `<img src=x onerror=alert(1)>`, map[string]string{
		f.hostileMarker:                    `javascript:alert(1)`,
		`"><a href="javascript:alert(2)">`: `' onmouseover='alert(3)`,
		"org.opencontainers.image.url":     "javascript:alert(4)//",
	})
	f.hostile = put("alice/hostile", "v1", ociManifest, hm)
	_ = hd

	f.payments = bareManifest(t, s, "payments/api", "v1")
	bareManifest(t, s, "payments/api", "v2")
	bareManifest(t, s, "public/base", "latest")
	bareManifest(t, s, "bob/tool", "v1")
	bareManifest(t, s, "zeta/hidden", "v1")
	f.u = newUI(t, s)
	return f
}

// apiCatalog is the whole catalog as user reads it through the API.
func apiCatalog(t *testing.T, s *stack, user string) []string { return walkCatalog(t, s, user, 100) }

func TestUICatalogMatchesAPI(t *testing.T) {
	f := newUIFixture(t)
	for _, user := range principals[1:] {
		t.Run(label(user), func(t *testing.T) {
			b := f.u.browser(t)
			b.login(user)
			p := b.get("/ui/repos")
			if p.Status != http.StatusOK {
				t.Fatalf("repos: %d", p.Status)
			}
			var shown []string
			for _, a := range byClass(byID(p.Doc, "repos"), "a", "repo") {
				shown = append(shown, text(a))
				if want := "/ui/r/" + text(a); getAttr(a, "href") != want {
					t.Errorf("link %q, want %q", getAttr(a, "href"), want)
				}
			}
			want := apiCatalog(t, f.s, user)
			if !slices.Equal(shown, want) {
				t.Errorf("UI lists %q, the API %q", shown, want)
			}
			if got := text(byID(p.Doc, "user")); got != user {
				t.Errorf("span#user = %q", got)
			}
			if (byID(p.Doc, "nav-audit") != nil) != false {
				t.Errorf("audit link shown without an audit trail")
			}
			// A repository the user may not pull reads exactly like one that does not exist.
			hidden, missing := b.get("/ui/r/zeta/hidden"), b.get("/ui/r/zeta/nothing-here")
			if user == admin {
				if hidden.Status != http.StatusOK {
					t.Errorf("admin: zeta/hidden %d", hidden.Status)
				}
				return
			}
			if hidden.Status != http.StatusNotFound || missing.Status != http.StatusNotFound ||
				text(byID(hidden.Doc, "main")) != text(byID(missing.Doc, "main")) {
				t.Errorf("hidden repo: %d %q; missing repo: %d %q", hidden.Status, text(byID(hidden.Doc, "main")),
					missing.Status, text(byID(missing.Doc, "main")))
			}
		})
	}
}

// TestUIRepoAndManifestMatchAPI reads alice/multi's pages and checks every value
// against what the registry API answers alice.
func TestUIRepoAndManifestMatchAPI(t *testing.T) {
	f := newUIFixture(t)
	b := f.u.browser(t)
	b.login(reader) // alice
	p := b.get("/ui/r/alice/multi")
	if p.Status != http.StatusOK {
		t.Fatalf("repo page: %d %s", p.Status, p.Body)
	}
	var tags struct{ Tags []string }
	if r := call(t, reader, http.MethodGet, f.s.URL+"/v2/alice/multi/tags/list", nil, nil); r.Status != 200 || json.Unmarshal(r.Body, &tags) != nil {
		t.Fatalf("API tags: %d %s", r.Status, r.Body)
	}
	rows := byClass(byID(p.Doc, "tags"), "tr", "tag")
	var shownTags []string
	for _, row := range rows {
		shownTags = append(shownTags, getAttr(row, "data-tag"))
	}
	if !slices.Equal(shownTags, tags.Tags) {
		t.Fatalf("tags shown %q, API %q", shownTags, tags.Tags)
	}
	row := rows[0]
	head := call(t, reader, http.MethodHead, f.s.URL+"/v2/alice/multi/manifests/v1", nil,
		http.Header{"Accept": {"application/vnd.oci.image.index.v1+json"}})
	if got, want := cell(row, "digest"), head.Header.Get("Docker-Content-Digest"); got != want || want != f.index {
		t.Errorf("digest %q, API %q (pushed %q)", got, want, f.index)
	}
	if got := cell(row, "media-type"); got != "application/vnd.oci.image.index.v1+json" {
		t.Errorf("media type %q", got)
	}
	if got := cell(row, "platforms"); got != "linux/amd64, linux/arm64" {
		t.Errorf("platforms %q", got)
	}
	if got := cell(row, "created"); got != "" {
		t.Errorf("created of an index %q, want empty", got)
	}
	// Total size: the index, and each child's manifest, config and layer, as the API
	// serves them.
	want := int64(0)
	for _, ref := range []string{"v1", f.amd64, f.arm64} {
		r := call(t, reader, http.MethodGet, f.s.URL+"/v2/alice/multi/manifests/"+ref, nil,
			http.Header{"Accept": {"application/vnd.oci.image.index.v1+json, " + ociManifest}})
		want += int64(len(r.Body))
		var m struct {
			Config struct{ Size int64 }
			Layers []struct{ Size int64 }
		}
		_ = json.Unmarshal(r.Body, &m)
		want += m.Config.Size
		for _, l := range m.Layers {
			want += l.Size
		}
	}
	if got := getAttr(byClass(row, "td", "size")[0], "title"); got != strconv.FormatInt(want, 10) {
		t.Errorf("size title %q, want %d bytes", got, want)
	}
	// alice owns alice/*: a delete form per tag.
	if len(byClass(row, "form", "delete")) != 1 {
		t.Errorf("no delete form for the owner")
	}

	// The index page: platforms, referrers, pull commands.
	link := getAttr(byClass(row, "a", "manifest")[0], "href")
	if link != "/ui/m/alice/multi@"+f.index {
		t.Fatalf("manifest link %q", link)
	}
	m := b.get(link)
	if m.Status != http.StatusOK {
		t.Fatalf("manifest page: %d %s", m.Status, m.Body)
	}
	var plats []string
	for _, tr := range byClass(byID(m.Doc, "platforms"), "tr", "platform") {
		plats = append(plats, cell(tr, "platform")+" "+cell(tr, "digest"))
	}
	if want := []string{"linux/amd64 " + f.amd64, "linux/arm64 " + f.arm64}; !slices.Equal(plats, want) {
		t.Errorf("platforms %q, want %q", plats, want)
	}
	var refIdx struct {
		Manifests []struct{ Digest, ArtifactType string }
	}
	if r := call(t, reader, http.MethodGet, f.s.URL+"/v2/alice/multi/referrers/"+f.index, nil, nil); r.Status != 200 || json.Unmarshal(r.Body, &refIdx) != nil {
		t.Fatalf("API referrers: %d %s", r.Status, r.Body)
	}
	var apiRefs, shownRefs []string
	for _, x := range refIdx.Manifests {
		apiRefs = append(apiRefs, x.ArtifactType+" "+x.Digest)
	}
	for _, tr := range byClass(byID(m.Doc, "referrers"), "tr", "referrer") {
		shownRefs = append(shownRefs, cell(tr, "artifact-type")+" "+cell(tr, "digest"))
	}
	if !slices.Equal(shownRefs, apiRefs) || len(apiRefs) != 1 || !strings.Contains(apiRefs[0], f.sbom) {
		t.Errorf("referrers shown %q, API %q", shownRefs, apiRefs)
	}
	if got, want := text(byID(m.Doc, "docker-pull")), "docker pull registry.example.test/alice/multi@"+f.index; got != want {
		t.Errorf("docker pull %q, want %q", got, want)
	}
	if got := text(byID(m.Doc, "podman-pull")); !strings.HasPrefix(got, "podman pull registry.example.test/alice/multi@sha256:") {
		t.Errorf("podman pull %q", got)
	}
	if len(byClass(m.Doc, "button", "copy")) != 2 {
		t.Errorf("want two copy buttons")
	}

	// An image page: config and layers as the API has them.
	img := b.get("/ui/m/alice/multi@" + f.amd64)
	layers := byClass(byID(img.Doc, "layers"), "tr", "layer")
	if len(layers) != 1 || getAttr(byClass(layers[0], "td", "size")[0], "title") != strconv.FormatInt(f.layerSize, 10) {
		t.Errorf("layers: %d rows", len(layers))
	}
	if got := text(byClass(byID(img.Doc, "config"), "dd", "created")[0]); got != "2026-01-02 03:04:05 UTC" {
		t.Errorf("created %q", got)
	}
	// By tag too.
	if p := b.get("/ui/m/alice/multi:v1"); p.Status != http.StatusOK || text(byClass(byID(p.Doc, "manifest"), "dd", "digest")[0]) != f.index {
		t.Errorf("manifest by tag: %d", p.Status)
	}
}

func TestUIHostileContentIsText(t *testing.T) {
	f := newUIFixture(t)
	b := f.u.browser(t)
	b.login(reader)
	for _, path := range []string{"/ui/r/alice/hostile", "/ui/m/alice/hostile@" + f.hostile, "/ui/m/alice/hostile:v1"} {
		p := b.get(path)
		if p.Status != http.StatusOK {
			t.Fatalf("%s: %d", path, p.Status)
		}
		if strings.Contains(p.Body, "<script>alert") || strings.Contains(p.Body, "<img src=x") || strings.Contains(p.Body, `<a href="javascript`) {
			t.Errorf("%s: pushed markup reached the page as markup", path)
		}
		walk(p.Doc, func(n *htmlNode) {
			for _, a := range n.Attr {
				if (a.Key == "href" || a.Key == "src" || a.Key == "action") && !strings.HasPrefix(a.Val, "/ui/") && a.Val != "#main" {
					t.Errorf("%s: %s=%q", path, a.Key, a.Val)
				}
				if strings.HasPrefix(a.Key, "on") {
					t.Errorf("%s: event handler attribute %s", path, a.Key)
				}
			}
			if n.Type == htmlElement && n.Data == "script" && getAttr(n, "src") != "/ui/static/app.js" {
				t.Errorf("%s: a script element that is not app.js", path)
			}
		})
	}
	// The annotations are there, as text.
	p := b.get("/ui/m/alice/hostile@" + f.hostile)
	found := false
	for _, tr := range byClass(byID(p.Doc, "annotations"), "tr", "annotation") {
		if text(tr.FirstChild) == f.hostileMarker || strings.Contains(text(tr), f.hostileMarker) {
			found = true
		}
	}
	if !found {
		t.Errorf("the hostile annotation key is not shown as text")
	}
}

// TestUIDelete deletes as the owner, through the confirmation, and has the non-owner
// see no button and be refused a forced request.
func TestUIDelete(t *testing.T) {
	f := newUIFixture(t)
	t.Run("owner", func(t *testing.T) {
		b := f.u.browser(t)
		b.login(reader) // alice owns alice/*
		tok := b.csrf()
		c := b.post("/ui/delete", url.Values{"repo": {"alice/hostile"}, "ref": {"v1"}, "csrf": {tok}})
		if c.Status != http.StatusOK || byID(c.Doc, "confirm-delete") == nil || !strings.Contains(text(byID(c.Doc, "gc-reminder")), "gateway gc") {
			t.Fatalf("confirmation: %d %s", c.Status, c.Body)
		}
		if r := call(t, reader, http.MethodHead, f.s.URL+"/v2/alice/hostile/manifests/v1", nil, nil); r.Status != http.StatusOK {
			t.Fatalf("deleted before confirmation: %d", r.Status)
		}
		form := byID(c.Doc, "confirm-delete")
		d := b.post("/ui/delete", url.Values{"repo": {attr(form, "repo")}, "ref": {attr(form, "ref")},
			"csrf": {attr(form, "csrf")}, "confirm": {attr(form, "confirm")}})
		if d.Status != http.StatusSeeOther || d.Header.Get("Location") != "/ui/r/alice/hostile?deleted=v1" {
			t.Fatalf("delete: %d %q %s", d.Status, d.Header.Get("Location"), d.Body)
		}
		if r := call(t, reader, http.MethodHead, f.s.URL+"/v2/alice/hostile/manifests/v1", nil, nil); r.Status != http.StatusNotFound {
			t.Errorf("after delete the API answers %d", r.Status)
		}
		n := b.get(d.Header.Get("Location"))
		if ns := byClass(n.Doc, "p", "notice"); len(ns) != 1 || !strings.Contains(text(ns[0]), "v1") {
			t.Errorf("no notice after delete")
		}
	})
	t.Run("non-owner", func(t *testing.T) {
		b := f.u.browser(t)
		b.login(member) // bob pulls and pushes payments/*, may not delete there
		p := b.get("/ui/r/payments/api")
		if p.Status != http.StatusOK || len(byClass(p.Doc, "tr", "tag")) != 2 {
			t.Fatalf("payments/api as bob: %d", p.Status)
		}
		if len(byClass(p.Doc, "form", "delete")) != 0 {
			t.Errorf("delete form shown to a non-owner")
		}
		m := b.get("/ui/m/payments/api@" + f.payments)
		if len(byClass(m.Doc, "form", "delete")) != 0 {
			t.Errorf("delete form on the manifest page for a non-owner")
		}
		tok := b.csrf()
		for _, ref := range []string{"v1", f.payments} {
			d := b.post("/ui/delete", url.Values{"repo": {"payments/api"}, "ref": {ref}, "csrf": {tok}, "confirm": {"yes"}})
			if d.Status != http.StatusForbidden || len(byClass(d.Doc, "p", "error")) != 1 {
				t.Errorf("forced delete of %s: %d %s", ref, d.Status, d.Body)
			}
		}
		if r := call(t, member, http.MethodHead, f.s.URL+"/v2/payments/api/manifests/v1", nil, nil); r.Status != http.StatusOK {
			t.Errorf("payments/api:v1 after a refused delete: %d", r.Status)
		}
	})
}

func TestUICSRF(t *testing.T) {
	f := newUIFixture(t)
	b := f.u.browser(t)
	b.login(reader)
	tok := b.csrf()
	form := func(csrf string) url.Values {
		return url.Values{"repo": {"alice/multi"}, "ref": {"v1"}, "csrf": {csrf}, "confirm": {"yes"}}
	}
	cases := []struct {
		name   string
		form   url.Values
		header http.Header
	}{
		{"missing token", url.Values{"repo": {"alice/multi"}, "ref": {"v1"}, "confirm": {"yes"}}, nil},
		{"wrong token", form("AAAA" + tok[4:]), nil},
		{"another session's token", form(func() string { o := f.u.browser(t); o.login(reader); return o.csrf() }()), nil},
		{"cross-site origin", form(tok), http.Header{"Origin": {"https://evil.example"}}},
		{"cross-site fetch", form(tok), http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{"null origin", form(tok), http.Header{"Origin": {"null"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{"Origin": {b.base}, "Sec-Fetch-Site": {"same-origin"}}
			for k, v := range tc.header {
				h[k] = v
			}
			p := b.do(http.MethodPost, "/ui/delete", tc.form, h)
			if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "invalid CSRF token") {
				t.Errorf("%d %s", p.Status, p.Body)
			}
		})
	}
	if r := call(t, reader, http.MethodHead, f.s.URL+"/v2/alice/multi/manifests/v1", nil, nil); r.Status != http.StatusOK {
		t.Fatalf("a refused form deleted: %d", r.Status)
	}
	// Login CSRF: a sign-in form posted without the pre-session cookie, or from elsewhere.
	o := f.u.browser(t)
	o.get("/ui/login")
	pre := o.cookies["portcullis_csrf"].Value
	for name, h := range map[string]http.Header{
		"no cookie":  {"Origin": {o.base}},
		"cross-site": {"Origin": {"https://evil.example"}},
	} {
		c := o
		if name == "no cookie" {
			c = f.u.browser(t)
		}
		p := c.do(http.MethodPost, "/ui/login", url.Values{"csrf": {pre}, "username": {reader}, "password": {passwordOf(reader)}}, h)
		if p.Status != http.StatusForbidden || p.Header.Get("Set-Cookie") != "" && strings.Contains(p.Header.Get("Set-Cookie"), "portcullis_session") {
			t.Errorf("login %s: %d", name, p.Status)
		}
	}
}

func TestUISession(t *testing.T) {
	f := newUIFixture(t)
	b := f.u.browser(t)
	if p := b.get("/ui/"); p.Status != http.StatusFound || p.Header.Get("Location") != "/ui/login" {
		t.Errorf("/ui/ signed out: %d %q", p.Status, p.Header.Get("Location"))
	}
	// Wrong password and unknown user read the same.
	msg := func(user, pass string) string {
		p := b.get("/ui/login")
		r := b.post("/ui/login", url.Values{"csrf": {attr(byID(p.Doc, "login"), "csrf")}, "username": {user}, "password": {pass}})
		if _, ok := b.cookies["portcullis_session"]; ok || r.Status != http.StatusUnauthorized {
			t.Errorf("bad sign-in %s: %d", user, r.Status)
		}
		return text(byClass(r.Doc, "p", "error")[0])
	}
	if a, c := msg(reader, "wrong"), msg("nobody", "wrong"); a != c {
		t.Errorf("wrong password %q, unknown user %q", a, c)
	}

	// A good sign-in, and the cookie's attributes.
	p := b.get("/ui/login")
	r := b.post("/ui/login", url.Values{"csrf": {attr(byID(p.Doc, "login"), "csrf")}, "username": {reader}, "password": {passwordOf(reader)}})
	var sc *http.Cookie
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == "portcullis_session" {
			sc = c
		}
	}
	if sc == nil || !sc.HttpOnly || !sc.Secure || sc.SameSite != http.SameSiteStrictMode || sc.Path != "/ui/" || sc.MaxAge != 3600 {
		t.Fatalf("session cookie %+v", sc)
	}
	if strings.Contains(sc.Value, passwordOf(reader)) {
		t.Fatal("the cookie holds the password")
	}
	if p := b.get("/ui/repos"); p.Status != http.StatusOK {
		t.Fatalf("signed in: %d", p.Status)
	}
	signedOut := func(name string, value string) {
		t.Helper()
		o := f.u.browser(t)
		o.cookies["portcullis_session"] = &http.Cookie{Name: "portcullis_session", Value: value}
		if p := o.get("/ui/repos"); p.Status != http.StatusFound || p.Header.Get("Location") != "/ui/login" {
			t.Errorf("%s: %d, want the sign-in page", name, p.Status)
		}
	}
	// Tampering: any change to the payload or the signature signs out.
	v := sc.Value
	payload, sig, _ := strings.Cut(v, ".")
	flip := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	signedOut("payload changed", flip(payload, 10)+"."+sig)
	signedOut("signature changed", payload+"."+flip(sig, 3))
	signedOut("signature dropped", payload)
	signedOut("garbage", "not a session")

	// Expiry: an hour later the same cookie is no longer a session.
	copied := v
	f.u.clock.t = f.u.clock.t.Add(59 * time.Minute)
	if p := b.get("/ui/repos"); p.Status != http.StatusOK {
		t.Errorf("59 minutes in: %d", p.Status)
	}
	f.u.clock.t = f.u.clock.t.Add(2 * time.Minute)
	signedOut("expired", copied)
	f.u.clock.t = time.Now()

	// Sign-out: the cookie is cleared, and a copy of it is worth nothing.
	b.login(reader)
	copied = b.cookies["portcullis_session"].Value
	out := b.post("/ui/logout", url.Values{"csrf": {b.csrf()}})
	if out.Status != http.StatusSeeOther || out.Header.Get("Location") != "/ui/login" || b.cookies["portcullis_session"] != nil {
		t.Fatalf("sign-out: %d %q", out.Status, out.Header.Get("Set-Cookie"))
	}
	signedOut("copied before sign-out", copied)

	// A restart (a new UI on the same key file) keeps sessions.
	b.login(reader)
	u2 := newUI(t, f.s)
	o := u2.browser(t)
	o.cookies["portcullis_session"] = b.cookies["portcullis_session"]
	if p := o.get("/ui/repos"); p.Status != http.StatusOK {
		t.Errorf("after a restart: %d", p.Status)
	}
}

// TestUIHeaders checks the headers every /ui/ answer carries.
func TestUIHeaders(t *testing.T) {
	f := newUIFixture(t)
	b := f.u.browser(t)
	for _, path := range []string{"/ui/login", "/ui/static/app.css", "/ui/static/app.js", "/ui/nothing"} {
		p := b.get(path)
		h := p.Header
		if !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") ||
			!strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("%s: headers %v", path, h)
		}
	}
	if p := b.get("/ui/login"); p.Header.Get("Cache-Control") != "no-store" || strings.Contains(p.Body, "<script>") || strings.Contains(p.Body, "style=") {
		t.Errorf("login page: inline script or style, or cacheable")
	}
}
