//go:build !unix

package integration

import "time"

// cpuTime is not measured here.
func cpuTime() time.Duration { return 0 }
