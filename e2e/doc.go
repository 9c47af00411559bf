// Package e2e holds end-to-end tests of the gateway binary with real clients: the OCI
// conformance suite, skopeo, podman, the Docker daemon and go-containerregistry, against
// the bundled registry and against Debian's docker-registry in sidecar mode.
//
// It owns only tests. TestMain builds cmd/gateway once; each test starts the binary on a
// free loopback port with its own data directory and stops it with SIGTERM. The gateway's
// behaviour is judged only through its CLI and HTTP surface, never by importing its
// packages. See README.md for what each test needs and how to run one.
package e2e
