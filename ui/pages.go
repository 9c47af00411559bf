package ui

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/reference"
)

var funcs = template.FuncMap{
	"size":      humanSize,
	"repoLink":  repoLink,
	"bytes":     func(n int64) string { return strconv.FormatInt(n, 10) },
	"add":       func(a, b int) int { return a + b },
	"hasPrefix": strings.HasPrefix,
}

func pathEscape(s string) string { return url.PathEscape(s) }

// reposPerPage is the repository list's page size.
const reposPerPage = 100

type reposData struct {
	Query string
	Repos []repoItem
	Next  string // the next page's URL, "" on the last
}

type repoItem struct {
	Name, Link string
}

// repos lists the repositories the user may pull, a page at a time, optionally only
// those whose name contains q.
func (u *ui) repos(w http.ResponseWriter, r *http.Request, s session) {
	q := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("q"))) // names are lower case
	last := r.URL.Query().Get("last")
	a := u.api(r, s)
	var names []string
	more := false
	n := reposPerPage + 1
	if q != "" {
		n = 1000 // a filter reads on until it has a page of matches
	}
	for {
		page, m, err := a.catalog(r.Context(), n, last)
		if err != nil {
			u.failErr(w, r, s, "listing repositories", err)
			return
		}
		for _, name := range page {
			if q == "" || strings.Contains(name, q) {
				names = append(names, name)
			}
		}
		if len(names) > reposPerPage {
			names, more = names[:reposPerPage], true
			break
		}
		if !m || len(page) == 0 {
			break
		}
		last = page[len(page)-1]
	}
	d := reposData{Query: q}
	for _, name := range names {
		d.Repos = append(d.Repos, repoItem{Name: name, Link: repoLink(name)})
	}
	if more {
		v := url.Values{"last": {names[len(names)-1]}}
		if q != "" {
			v.Set("q", q)
		}
		d.Next = "/ui/repos?" + v.Encode()
	}
	u.render(w, r, s, http.StatusOK, "repos", "Repositories", d)
}

type repoData struct {
	Name      string
	Deleted   string
	CanDelete bool
	Tags      []tagRow
}

type tagRow struct {
	Tag       string
	Digest    string
	Link      string
	MediaType string
	Size      int64
	Created   string
	Platforms string
	Error     string
}

// repo shows a repository's tags. A repository the user may not pull is "not found",
// exactly like one that does not exist.
func (u *ui) repo(w http.ResponseWriter, r *http.Request, s session) {
	name := strings.TrimPrefix(r.URL.Path, "/ui/r/")
	if !reference.ValidName(name) {
		u.fail(w, r, s, http.StatusNotFound, "repository not found")
		return
	}
	a := u.api(r, s)
	tags, err := a.tags(r.Context(), name)
	if errors.Is(err, errNotFound) {
		u.fail(w, r, s, http.StatusNotFound, "repository not found")
		return
	}
	if err != nil {
		u.failErr(w, r, s, "listing tags", err)
		return
	}
	d := repoData{Name: name, CanDelete: u.allowed(r, s, repoResource(name, access.Delete), http.MethodDelete, "/v2/"+name+"/manifests/")}
	if del := r.URL.Query().Get("deleted"); reference.ValidTag(del) || reference.ValidDigest(del) {
		d.Deleted = del // only what a delete can have named: a link cannot put words on the page
	}
	for _, t := range tags {
		row := tagRow{Tag: t}
		info, err := describe(r.Context(), a, name, t)
		switch {
		case errors.Is(err, errNotFound):
			row.Error = "manifest not readable"
		case err != nil:
			u.failErr(w, r, s, "reading manifests", err)
			return
		default:
			row.Digest, row.MediaType, row.Size, row.Created, row.Platforms = info.Digest, info.MediaType, info.Total, info.Created, info.Platforms
			if reference.ValidDigest(info.Digest) {
				row.Link = manifestLink(name, info.Digest)
			}
			if !info.IsIndex && info.Config != nil {
				row.Platforms = (&platform{OS: info.Config.OS, Architecture: info.Config.Architecture, Variant: info.Config.Variant}).String()
			}
		}
		d.Tags = append(d.Tags, row)
	}
	u.render(w, r, s, http.StatusOK, "repo", name, d)
}

type manifestData struct {
	Name, Ref, RepoLink string
	Info                manifestInfo
	ConfigDigest        string
	Layers              []descriptor
	Annotations         []kv
	Referrers           []referrer
	Docker, Podman      string
	CanDelete           bool
}

type kv struct{ Key, Value string }

type referrer struct {
	ArtifactType, Digest, Link, MediaType string
	Size                                  int64
}

// manifest shows one manifest: /ui/m/<name>@<digest> or /ui/m/<name>:<tag>.
func (u *ui) manifest(w http.ResponseWriter, r *http.Request, s session) {
	name, ref, ok := splitRef(strings.TrimPrefix(r.URL.Path, "/ui/m/"))
	if !ok {
		u.fail(w, r, s, http.StatusNotFound, "manifest not found")
		return
	}
	a := u.api(r, s)
	info, err := describe(r.Context(), a, name, ref)
	if errors.Is(err, errNotFound) {
		u.fail(w, r, s, http.StatusNotFound, "manifest not found")
		return
	}
	if err != nil {
		u.failErr(w, r, s, "reading the manifest", err)
		return
	}
	d := manifestData{Name: name, Ref: ref, RepoLink: repoLink(name), Info: info, Layers: info.Raw.Layers,
		CanDelete: u.allowed(r, s, repoResource(name, access.Delete), http.MethodDelete, "/v2/"+name+"/manifests/"+ref)}
	if info.Raw.Config != nil {
		d.ConfigDigest = info.Raw.Config.Digest
	}
	for _, k := range sortedKeys(info.Raw.Annotations) {
		d.Annotations = append(d.Annotations, kv{k, info.Raw.Annotations[k]})
	}
	dgst := info.Digest
	if !reference.ValidDigest(dgst) {
		dgst = ref
	}
	if reference.ValidDigest(dgst) {
		refs, err := a.referrers(r.Context(), name, dgst)
		if err != nil {
			u.failErr(w, r, s, "listing referrers", err)
			return
		}
		for _, x := range refs {
			rf := referrer{ArtifactType: x.ArtifactType, Digest: x.Digest, MediaType: x.MediaType, Size: x.Size}
			if reference.ValidDigest(x.Digest) {
				rf.Link = manifestLink(name, x.Digest)
			}
			d.Referrers = append(d.Referrers, rf)
		}
		pull := u.publicHost(r) + "/" + name + "@" + dgst
		d.Docker, d.Podman = "docker pull "+pull, "podman pull "+pull
	}
	u.render(w, r, s, http.StatusOK, "manifest", name+"@"+dgst, d)
}

// splitRef splits "name@digest" or "name:tag", each part checked against the grammar.
func splitRef(s string) (name, ref string, ok bool) {
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		name, ref = s[:i], s[i+1:]
		return name, ref, reference.ValidName(name) && reference.ValidDigest(ref)
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 || strings.Contains(s[i:], "/") {
		return "", "", false
	}
	name, ref = s[:i], s[i+1:]
	return name, ref, reference.ValidName(name) && reference.ValidTag(ref)
}

// publicHost is the registry host of pull commands.
func (u *ui) publicHost(r *http.Request) string {
	if u.cfg.PublicHost != "" {
		return u.cfg.PublicHost
	}
	return r.Host
}

// auditResource is what the policy grants to let someone read the audit view.
var auditResource = access.Resource{Type: "ui", Name: "audit", Actions: []string{"read"}}

func repoResource(name, action string) access.Resource {
	return access.Resource{Type: access.TypeRepository, Name: name, Actions: []string{action}}
}

// allowed asks the Authorizer whether the user may do want: only to decide what to show.
// A failure to decide shows nothing.
func (u *ui) allowed(r *http.Request, s session, want access.Resource, method, path string) bool {
	in := access.Input{
		Principal: s.principal(),
		Request:   access.Request{Method: method, Path: path, ClientIP: u.cfg.ClientIP(r).String(), UserAgent: r.UserAgent()},
		Access:    []access.Resource{want},
	}
	d, err := u.cfg.Authorizer.Authorize(r.Context(), in)
	if err != nil {
		u.log.Error("asking the policy", "user", s.User, "err", err)
		return false
	}
	return d.Allows(want)
}
