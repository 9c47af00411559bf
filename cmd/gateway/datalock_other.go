//go:build !unix

package main

import "os"

// flock is a no-op where flock(2) does not exist: gc then relies on being run offline,
// as documented.
func flock(*os.File, bool) error { return nil }
