package server

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// reloadOnHangup reloads every reloader on SIGHUP until ctx ends. Each keeps its last good
// version on failure and logs why itself; this adds one line naming what failed.
func (s *Server) reloadOnHangup(ctx context.Context) {
	hangup := s.hangup
	if hangup == nil {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGHUP)
		defer signal.Stop(sig)
		hangup = sig
	}
	names := make([]string, len(s.cfg.Reloaders))
	for i, r := range s.cfg.Reloaders {
		names[i] = r.Name()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-hangup:
			s.logger.Info("SIGHUP: reloading", "what", names)
			var failed []string
			for _, r := range s.cfg.Reloaders {
				if err := r.Reload(ctx); err != nil {
					failed = append(failed, r.Name())
				}
			}
			s.logger.Info("SIGHUP: reload done", "failed", failed)
		}
	}
}
