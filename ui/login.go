package ui

import (
	"cmp"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/portcullis/portcullis/access"
)

// loginData is the sign-in page's.
type loginData struct {
	Token    string // the double-submit value
	Username string
	Error    string
}

// loginForm shows the sign-in form, setting the pre-session CSRF cookie when missing.
func (u *ui) loginForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := u.session(r); ok {
		http.Redirect(w, r, "/ui/repos", http.StatusFound)
		return
	}
	u.renderLogin(w, r, http.StatusOK, "", "")
}

func (u *ui) renderLogin(w http.ResponseWriter, r *http.Request, code int, user, msg string) {
	tok := ""
	if c, err := r.Cookie(csrfCookie); err == nil && validID(c.Value) {
		tok = c.Value
	} else {
		tok = newID()
		http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: tok, Path: cookiePath,
			MaxAge: 3600, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	}
	u.render(w, r, session{}, code, "login", "Sign in", loginData{Token: tok, Username: user, Error: msg})
}

// loginPost checks the form and the credentials, and starts a session.
func (u *ui) loginPost(w http.ResponseWriter, r *http.Request) {
	if !u.checkLoginForm(r) {
		u.fail(w, r, session{}, http.StatusForbidden, "invalid CSRF token")
		return
	}
	user, pass := r.PostFormValue("username"), r.PostFormValue("password")
	if user == "" && pass == "" {
		u.renderLogin(w, r, http.StatusBadRequest, "", "Enter your user name and password.")
		return
	}
	ctx := access.WithClientIP(r.Context(), u.cfg.ClientIP(r))
	p, err := u.cfg.Login.Login(ctx, user, pass)
	var throttled *access.ThrottledError
	switch {
	case errors.As(err, &throttled):
		u.loginFailed(r, user, http.StatusTooManyRequests)
		secs := int64((throttled.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		u.renderLogin(w, r, http.StatusTooManyRequests, user,
			"Too many sign-in attempts. Try again in "+strconv.FormatInt(secs, 10)+" seconds.")
		return
	case errors.Is(err, access.ErrBadCredentials):
		u.loginFailed(r, cmp.Or(access.ClaimedAccount(err), user), http.StatusUnauthorized)
		// The same words for an unknown user and a wrong password.
		u.renderLogin(w, r, http.StatusUnauthorized, user, "Sign-in failed: unknown user or wrong password.")
		return
	case err != nil:
		u.log.Error("sign-in", "err", err)
		u.renderLogin(w, r, http.StatusInternalServerError, user, "Sign-in failed: the gateway could not check the password. Try again later.")
		return
	case p.IsAnonymous():
		u.loginFailed(r, user, http.StatusUnauthorized)
		u.renderLogin(w, r, http.StatusUnauthorized, user, "Sign-in failed: unknown user or wrong password.")
		return
	}
	s := session{V: sessionVersion, ID: newID(), User: p.Name, Groups: p.Groups, Method: p.Method,
		Claims: p.Claims, Expires: u.now().Add(u.cfg.SessionTTL).Unix()}
	v, err := u.keys.seal(s)
	if err != nil {
		u.log.Error("sign-in", "user", p.Name, "err", err)
		u.renderLogin(w, r, http.StatusInternalServerError, user, "Sign-in failed: "+err.Error()+".")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: v, Path: cookiePath,
		MaxAge: int(u.cfg.SessionTTL / time.Second), HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: "", Path: cookiePath, MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	u.log.Info("signed in", "user", p.Name, "method", p.Method)
	http.Redirect(w, r, "/ui/repos", http.StatusSeeOther)
}

// loginFailed tells Config.OnLoginFailed of a refused sign-in.
func (u *ui) loginFailed(r *http.Request, account string, status int) {
	if u.cfg.OnLoginFailed == nil {
		return
	}
	u.cfg.OnLoginFailed(r.Context(), LoginFailure{Time: u.now(), Account: account,
		ClientIP: u.cfg.ClientIP(r), UserAgent: r.UserAgent(), Status: status})
}

// logout revokes the session (a copy of the cookie is worth nothing from now on) and
// clears the cookie.
func (u *ui) logout(w http.ResponseWriter, r *http.Request) {
	s, ok := u.session(r)
	if ok {
		if !u.checkForm(r, s) {
			u.fail(w, r, s, http.StatusForbidden, "invalid CSRF token")
			return
		}
		u.keys.revoked.add(s.ID, s.Expires)
		u.log.Info("signed out", "user", s.User)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: cookiePath, MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}
