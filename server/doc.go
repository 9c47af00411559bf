// Package server runs the gateway's listeners for the life of the process: it owns the
// sockets, not what is said on them.
//
// It owns:
//
//   - the main listener, plain HTTP or TLS, with HTTP/2 served through batched TLS writes
//     (h2batch.go) and HSTS on every TLS response;
//   - the plain-HTTP listener beside it, which redirects to HTTPS (301 for GET and HEAD,
//     308 otherwise) and routes ACME HTTP-01 challenge paths to the answer certs gives, or
//     404 when ACME is off;
//   - the operations listener, serving only the handlers it is given (/metrics; health
//     checks belong there too), never the registry API;
//   - the server timeouts: headers within 30 seconds (slowloris), idle connections closed
//     after 2 minutes, 64 KiB of headers, and no read or write timeout, as a 10 GiB push
//     takes minutes;
//   - running the reloaders (users, groups, policy, certificates) while serving, and
//     reloading each on SIGHUP;
//   - graceful shutdown: when the context ends (SIGTERM), stop accepting, send HTTP/2
//     GOAWAY, and let in-flight requests finish for up to Config.ShutdownTimeout.
//
// It leaves to others: the request pipeline behind Config.Handler (package gateway),
// where certificates come from, their renewal, and the ACME challenge answers (certs),
// what the reloaders load (auth, policy, certs, internal/reload), the metrics themselves,
// and reading the configuration (cmd/gateway).
package server
