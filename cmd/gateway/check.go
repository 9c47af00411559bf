package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/portcullis/portcullis/auth"
	"github.com/portcullis/portcullis/certs"
	"github.com/portcullis/portcullis/config"
	"github.com/portcullis/portcullis/policy"
)

// runCheck implements `gateway check`: it reads the configuration as serve would, then
// loads every file it names (users, groups, policy with its tests, certificates) and lists
// every problem. Exit 0 when there is none, 1 otherwise.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	l, code := parseFlags("check", args, stdout, stderr, nil)
	if l == nil {
		return code
	}
	cfg, err := l.Load() // serve's list, to which the files' own problems are added
	errs := []error{err, validateLimits(cfg)}
	quiet := slog.New(slog.DiscardHandler)
	allowEmpty, _ := emptyHtpasswdAllowed(cfg) // reported by validateLimits
	if _, err := os.Stat(cfg.HtpasswdFile()); err == nil {
		// An empty users file is reported as serve would refuse it (issue 12).
		if _, err := auth.NewHtpasswd(cfg.HtpasswdFile(), auth.HtpasswdOptions{Logger: quiet, AllowEmpty: allowEmpty}); err != nil {
			errs = append(errs, fmt.Errorf("htpasswd: %w", err))
		}
	}
	if g := cfg.GroupsFile(); g != "" {
		if _, err := os.Stat(g); err == nil {
			if _, err := auth.NewGroups(g, quiet); err != nil {
				errs = append(errs, fmt.Errorf("groups: %w", err))
			}
		}
	}
	if cfg.Policy != "" {
		if _, err := os.Stat(cfg.Policy); err == nil {
			if _, err := policy.Load(ctx, cfg.Policy); err != nil {
				errs = append(errs, fmt.Errorf("policy: %w", err))
			}
		}
	}
	if cfg.TLS == config.TLSFiles && cfg.TLSCert != "" && cfg.TLSKey != "" {
		if _, err := certs.NewFiles(cfg.TLSCert, cfg.TLSKey, quiet); err != nil {
			errs = append(errs, fmt.Errorf("tls_cert/tls_key: %w", err))
		}
	}
	if cfg.TLSClientCA != "" {
		if _, err := certs.LoadCertPool(cfg.TLSClientCA); err != nil {
			errs = append(errs, fmt.Errorf("tls_client_ca: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		printProblems(stderr, err)
		return 1
	}
	fmt.Fprintln(stdout, "configuration OK")
	return 0
}
