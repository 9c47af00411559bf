package ui

import (
	"crypto/subtle"
	"net/http"
	"net/url"
)

// sameOrigin reports whether a form post comes from a page of this site, as the browser
// says it: Sec-Fetch-Site, when sent, must be same-origin; Origin, when sent, must name
// the host the request was sent to (or the public host). A browser sends at least one of
// them with every POST; a client that sends neither must still hold the CSRF token.
func (u *ui) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	o, err := url.Parse(origin)
	if err != nil || o.Host == "" || (o.Scheme != "https" && o.Scheme != "http") {
		return false // "null" among others: a sandboxed frame, a redirect across origins
	}
	return o.Host == r.Host || (u.cfg.PublicHost != "" && o.Host == u.cfg.PublicHost)
}

// checkForm checks a state-changing form of a signed-in user: same origin, and the csrf
// field is the session's token.
func (u *ui) checkForm(r *http.Request, s session) bool {
	return u.sameOrigin(r) && u.keys.checkCSRF(s, r.PostFormValue("csrf"))
}

// checkLoginForm checks the sign-in form before there is a session: same origin, and
// the csrf field equals the pre-session cookie (double submit), so another site cannot
// sign a browser in as someone else.
func (u *ui) checkLoginForm(r *http.Request) bool {
	if !u.sameOrigin(r) {
		return false
	}
	c, err := r.Cookie(csrfCookie)
	field := r.PostFormValue("csrf")
	return err == nil && validID(c.Value) &&
		subtle.ConstantTimeCompare([]byte(c.Value), []byte(field)) == 1
}
