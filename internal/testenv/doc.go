// Package testenv owns what the project's tests need from the machine, in one place: the
// rule for external tools (skip when missing, fail under CI, which installs them), a real
// Debian docker-registry (distribution 2.8) process to test against, and runs of the OCI
// conformance suite from ../shared, the import-wall check (CheckImports) the packages'
// depcheck tests share, and the crash-leftovers walk (Leftovers) of the GC tests. Only
// _test.go files import it; the product never does.
package testenv
