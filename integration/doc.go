// Package integration holds tests that cross package walls: the gateway, auth, policy and
// the bundled registry wired as cmd/gateway wires them, driven over real HTTP with real
// clients. It owns no production code; each package's own tests stay in that package.
//
// What it shows: every endpoint answers allowed or denied as the policy says, for every
// kind of principal; the catalog and search list exactly what the caller may pull, in full
// pages; a mount from a repository the caller may not pull is stripped to a plain upload;
// and, fuzzed, nothing reaches the backend that the policy did not grant.
package integration
