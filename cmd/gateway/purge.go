package main

import (
	"context"
	"log/slog"
	"time"
)

// purgeUploads removes the bundled registry's upload sessions idle for longer than age,
// every interval until ctx ends, starting with one pass at once (issue 12: an abandoned
// upload must not pin disk space forever). age 0 turns it off.
func (b bundledBackend) purgeUploads(ctx context.Context, age, interval time.Duration, logger *slog.Logger) {
	if age <= 0 {
		return
	}
	logger = logger.With("component", "registry")
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		rep, err := b.reg.PurgeUploads(ctx, age)
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Error("purging idle uploads failed", "err", err)
		case rep.Uploads > 0:
			logger.Info("purged idle uploads", "uploads", rep.Uploads, "bytes", rep.Bytes, "idle_for", age.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
