package ui

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/portcullis/portcullis/reference"
)

type deleteData struct {
	Repo, Ref, RepoLink string
}

// deletePost asks for confirmation, then deletes a tag or manifest through the pipeline
// as the user: the policy decides there, whatever the page showed.
func (u *ui) deletePost(w http.ResponseWriter, r *http.Request, s session) {
	if !u.checkForm(r, s) {
		u.fail(w, r, s, http.StatusForbidden, "invalid CSRF token")
		return
	}
	name, ref := r.PostFormValue("repo"), r.PostFormValue("ref")
	if !reference.ValidName(name) || !(reference.ValidTag(ref) || reference.ValidDigest(ref)) {
		u.fail(w, r, s, http.StatusBadRequest, "bad repository or reference")
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		u.render(w, r, s, http.StatusOK, "delete", "Delete "+name+":"+ref, deleteData{Repo: name, Ref: ref, RepoLink: repoLink(name)})
		return
	}
	err := u.api(r, s).deleteManifest(r.Context(), name, ref)
	switch {
	case errors.Is(err, errDenied):
		u.fail(w, r, s, http.StatusForbidden, "you may not delete in this repository")
		return
	case errors.Is(err, errNotFound):
		u.fail(w, r, s, http.StatusNotFound, "manifest not found")
		return
	case err != nil:
		u.failErr(w, r, s, "deleting", err)
		return
	}
	u.log.Info("deleted", "user", s.User, "repository", name, "reference", ref)
	http.Redirect(w, r, repoLink(name)+"?"+url.Values{"deleted": {ref}}.Encode(), http.StatusSeeOther)
}
