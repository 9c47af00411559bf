//go:build unix

package integration

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user and system) the test process has used, every goroutine's:
// a benchmark's measure that other processes on a busy machine do not inflate.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
