package config

import (
	"fmt"
	"net/url"
)

// PublicHost is host[:port] of PublicURL as clients write it in image references and
// certs.d directories (no port for the scheme's default), or "" when PublicURL is unset.
func (c Config) PublicHost() string {
	u, err := url.Parse(c.PublicURL)
	if c.PublicURL == "" || err != nil {
		return ""
	}
	if (u.Scheme == "https" && u.Port() == "443") || (u.Scheme == "http" && u.Port() == "80") {
		return u.Hostname()
	}
	return u.Host
}

// checkPublicURL validates PublicURL.
func (c Config) checkPublicURL() error {
	if c.PublicURL == "" {
		return nil
	}
	u, err := url.Parse(c.PublicURL)
	switch {
	case err != nil:
		return fmt.Errorf("public_url: %q is not a URL: %v", c.PublicURL, err)
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "":
		return fmt.Errorf("public_url: %q must be https://HOST[:PORT] (what clients outside type)", c.PublicURL)
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil:
		return fmt.Errorf("public_url: %q must be scheme://host[:port] only, without path, query or credentials", c.PublicURL)
	}
	return nil
}
