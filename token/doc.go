// Package token owns the Docker registry token service's cryptography and claims: the
// signing keys (ES256 by default, RS256 as an option) kept in DATA/token/ or given as a
// file, the token CA that certifies them for x5c, key ids that are RFC 7638 JWK
// thumbprints, the published JWKS, rotation that keeps an old key verifying until the
// longest token it signed has expired; minting access tokens (the Docker "access" claim),
// refresh tokens bound to the user's password entry, and short-lived tokens for an
// upstream registry; verifying our tokens, and identity tokens from trusted external
// issuers (OIDC discovery, JWKS fetched and cached with backoff), with a bounded cache of
// verified tokens so a token seen once costs no signature check until it expires.
//
// It leaves to others what the tokens are for: auth reads Authorization headers, the
// gateway serves the /token endpoint and decides requests, policy decides what is
// granted. Like policy, it knows nothing of HTTP routing; it speaks HTTP only as a client
// of external issuers.
package token
