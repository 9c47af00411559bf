package main

import (
	"errors"
	"fmt"

	"github.com/portcullis/portcullis/auth"
	"github.com/portcullis/portcullis/config"
)

// validateLimits checks the configuration keys of issue 12's limits (empty users file,
// login throttling, upload purging), each problem naming its key. serve and check call it beside
// cfg.Validate.
func validateLimits(cfg config.Config) error {
	var errs []error
	if _, err := emptyHtpasswdAllowed(cfg); err != nil {
		errs = append(errs, err)
	}
	if _, err := auth.ParseRate(cfg.LoginThrottleIP); err != nil {
		errs = append(errs, fmt.Errorf("login_throttle_ip: %w", err))
	}
	if _, err := auth.ParseRate(cfg.LoginThrottleAccount); err != nil {
		errs = append(errs, fmt.Errorf("login_throttle_account: %w", err))
	}
	if cfg.LoginThrottleDelay < 0 {
		errs = append(errs, errors.New("login_throttle_delay: must be positive (e.g. 1s), or 0 to answer at once"))
	}
	if cfg.UploadPurgeAge < 0 {
		errs = append(errs, errors.New("upload_purge_age: must be positive (e.g. 24h), or 0 to keep idle uploads"))
	}
	if cfg.UploadPurgeAge > 0 && cfg.UploadPurgeInterval <= 0 {
		errs = append(errs, errors.New("upload_purge_interval: must be positive, e.g. 1h"))
	}
	return errors.Join(errs...)
}

// emptyHtpasswdAllowed reads cfg.EmptyHtpasswd: "" or "refuse" (the default) and "allow".
func emptyHtpasswdAllowed(cfg config.Config) (bool, error) {
	switch cfg.EmptyHtpasswd {
	case "", "refuse":
		return false, nil
	case "allow":
		return true, nil
	}
	return false, fmt.Errorf("empty_htpasswd: %q: use refuse or allow", cfg.EmptyHtpasswd)
}

// newThrottle is the login throttle cfg asks for (validated by validateLimits).
func newThrottle(cfg config.Config) *auth.Throttle {
	opts := auth.DefaultThrottleOptions
	opts.PerIP, _ = auth.ParseRate(cfg.LoginThrottleIP)
	opts.PerAccount, _ = auth.ParseRate(cfg.LoginThrottleAccount)
	t, err := auth.NewThrottle(opts)
	if err != nil {
		panic("login throttle: " + err.Error()) // only invalid rates fail, and validateLimits refused those
	}
	return t
}
