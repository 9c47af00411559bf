package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/portcullis/portcullis/config"
	"github.com/portcullis/portcullis/gateway"
	"github.com/portcullis/portcullis/policy"
	"github.com/portcullis/portcullis/server"
)

// buildAuthorizer loads the configured policy (hot-reloaded: the reloader is returned) or
// the built-in default (no reloader).
func buildAuthorizer(ctx context.Context, cfg config.Config, logger *slog.Logger) (gateway.Authorizer, server.Reloader, error) {
	if cfg.Policy == "" {
		e, err := policy.Default(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("built-in policy: %w", err)
		}
		logger.Info("authorization: built-in default policy (pull for every user, push/delete under <user>/, everything for group admins)")
		return e, nil, nil
	}
	r, err := policy.NewReloader(ctx, cfg.Policy, logger.With("component", "policy"))
	if err != nil {
		return nil, nil, fmt.Errorf("policy %s: %w", cfg.Policy, err)
	}
	logger.Info("authorization: policy loaded", "policy", cfg.Policy)
	return r, r, nil
}
