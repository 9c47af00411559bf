// Package distspec owns the URL grammar of the OCI distribution spec's /v2/ API: the
// endpoint kinds, the reading of a request path into a Route (kind, repository name,
// reference, upload id) and the method table saying which methods each endpoint serves.
// The gateway, which judges requests, and the bundled registry, which serves them, both
// route through Parse, so a path cannot mean one endpoint to the gateway and another to
// the registry behind it. It imports the standard library, errcode and reference only.
//
// Why a package of its own rather than more of reference: reference is the grammar of
// the parts (name, tag, digest, upload id), pure string predicates with no dependency,
// used where there is no request at all (a mount's from= parameter, a catalog entry).
// Routing adds HTTP (methods) and the client-facing error codes (errcode); keeping it a
// layer above leaves reference a leaf.
//
// What it leaves to others: the gateway's stricter refusals (escapes, "//", dot
// segments, bytes outside the alphabets, ';' in queries, form bodies, digests of a
// registered algorithm with the wrong length), its access rules and the gateway-only
// /v1/search; the handlers' checks of query parameters and of digest algorithms.
//
// # Decisions
//
// The two readers used to differ; each difference was settled once, here, preferring
// what distribution's registry:2 answers where clients could tell (its answers to every
// case below were probed against Debian's docker-registry 2.8):
//
//   - "/v2" without the slash is the base route, and ".../blobs/uploads" without the
//     slash is the uploads route. registry:2 answers both with a redirect to the slashed
//     path, and the bundled registry always served them, so that is how a backend reads
//     them; the gateway used to refuse "/v2" and read ".../blobs/uploads" as a blob with
//     the invalid digest "uploads". No other trailing slash is added or removed.
//   - A path that names no endpoint is 404 UNSUPPORTED "no such endpoint" (registry:2:
//     404; the bundled registry said NAME_UNKNOWN, which clients show as "repository not
//     found" for paths that name no repository).
//   - A name outside the grammar is 400 NAME_INVALID, the spec's code for it (both agreed).
//   - A reference with a ':' that is not in the digest grammar, and a blob or referrers
//     reference outside it, is 400 DIGEST_INVALID: one code for a bad digest wherever it
//     appears, which is what registry:2 answers for a blob digest it cannot parse.
//   - Any other manifest reference outside the tag grammar is 400 MANIFEST_INVALID, the
//     code the registry answers for a bad ?tag= on a manifest PUT (the gateway said
//     NAME_INVALID, but the name is fine).
//   - An upload id outside [A-Za-z0-9_=-]{1,128} is 404 BLOB_UPLOAD_UNKNOWN: no session
//     can have that id, registry:2 answers 404, and it is what a well-formed unknown id
//     gets, so the two are not told apart (the gateway said 400 BLOB_UPLOAD_INVALID).
//   - A method the endpoint does not serve is 405 UNSUPPORTED, checked after the path,
//     so a bad path reads the same whatever the method (both agreed; registry:2: 405).
//   - Digests are checked against the spec's grammar only
//     ([a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+). Which algorithms are served, and
//     the length of their encoding, is the handler's business (the bundled registry answers
//     400 DIGEST_INVALID); the gateway additionally refuses a sha256 or sha512
//     digest of the wrong length itself (reference.ValidDigest), a stricter refusal on top,
//     because registry:2 answers some of those with 500.
package distspec
