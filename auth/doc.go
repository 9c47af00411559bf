// Package auth owns login: it turns the credentials a request carries into an
// access.Principal. It loads the htpasswd users file and the groups file, reloads both when
// they change (keeping the last good version when a new one does not parse), verifies
// passwords with a bounded cache so bcrypt does not run on every request, parses the
// Authorization header strictly, and writes htpasswd entries for `gateway passwd`. In token
// mode Bearer reads bearer tokens through a TokenVerifier (the token package), and Login
// lets a trusted issuer's identity token stand in for a password; Stamp fingerprints a
// user's entry so refresh tokens die with the password they were issued against.
//
// It leaves to others what happens next: the gateway decides what an anonymous principal or
// an ErrBadCredentials error means for the response, policy decides what a principal may
// do, and certs owns TLS. The package knows nothing of repositories, Rego or the registry.
package auth
