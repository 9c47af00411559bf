package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/portcullis/portcullis/auth"
	"github.com/portcullis/portcullis/config"
	"github.com/portcullis/portcullis/gateway"
)

// buildUsers loads the htpasswd file (creating the default one with an admin user on
// first start) and the optional groups file.
func buildUsers(cfg config.Config, logger *slog.Logger) (*auth.Htpasswd, *auth.Groups, error) {
	file := cfg.HtpasswdFile()
	if cfg.HtpasswdIsDefault() {
		groupsFile := ""
		if cfg.Groups == "" {
			groupsFile = filepath.Join(cfg.Data, "groups.yaml")
		}
		if err := ensureAdmin(file, groupsFile, logger); err != nil {
			return nil, nil, err
		}
	}
	allowEmpty, err := emptyHtpasswdAllowed(cfg)
	if err != nil {
		return nil, nil, err
	}
	users, err := auth.NewHtpasswd(file, auth.HtpasswdOptions{Logger: logger.With("component", "htpasswd"), AllowEmpty: allowEmpty})
	if err != nil {
		return nil, nil, fmt.Errorf("htpasswd: %w", err)
	}
	groupsFile := cfg.GroupsFile()
	if groupsFile == "" {
		return users, nil, nil
	}
	groups, err := auth.NewGroups(groupsFile, logger.With("component", "groups"))
	if err != nil {
		return nil, nil, fmt.Errorf("groups: %w", err)
	}
	return users, groups, nil
}

// ensureAdmin creates file with user "admin" and a random password, printed once, when
// the file does not exist yet; and, when groupsFile is not "", a groups file that makes
// admin a member of "admins" (who may do everything under the default policy). The
// password is never logged again.
func ensureAdmin(file, groupsFile string, logger *slog.Logger) error {
	if _, err := os.Stat(file); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("htpasswd: %w", err)
	}
	pass := rand.Text()
	if err := auth.SetPassword(file, "admin", []byte(pass), 0); err != nil {
		return fmt.Errorf("creating %s: %w", file, err)
	}
	if groupsFile != "" {
		if _, err := os.Stat(groupsFile); errors.Is(err, os.ErrNotExist) {
			if err := os.WriteFile(groupsFile, []byte("# group: [users]; the default policy lets members of admins do everything\nadmins: [admin]\n"), 0o600); err != nil {
				return fmt.Errorf("creating %s: %w", groupsFile, err)
			}
		}
	}
	logger.Warn("created the first user; this password is shown only once, change it with `gateway passwd`",
		"htpasswd", file, "user", "admin", "password", pass)
	return nil
}

// newLogin is Basic over users and groups, with the login throttle counted in metrics:
// the password check of the pipeline and of the token endpoint, one throttle for both.
func newLogin(cfg config.Config, users *auth.Htpasswd, groups *auth.Groups, metrics auth.LoginMetrics) *auth.Basic {
	return &auth.Basic{Users: users, Groups: groups, Realm: cfg.Realm, Limiter: newThrottle(cfg),
		RefusalDelay: cfg.LoginThrottleDelay, Metrics: metrics}
}

// newAuthenticator is the login; with client CAs configured, a verified client
// certificate stands for a user when no Authorization header is sent. With tokens
// configured, token.go builds it.
func newAuthenticator(cfg config.Config, basic *auth.Basic, groups *auth.Groups, tok *tokens) gateway.Authenticator {
	if tok != nil {
		return tok.authenticator(cfg, basic, groups)
	}
	if cfg.TLSClientCA == "" {
		return basic
	}
	return &auth.ClientCert{Next: basic, Groups: groups}
}
