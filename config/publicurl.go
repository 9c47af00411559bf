package config

import (
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

// checkPublicURL says what is wrong with PublicURL, "" when nothing is.
func (c Config) checkPublicURL() string {
	if c.PublicURL == "" {
		return ""
	}
	u, err := url.Parse(c.PublicURL)
	switch {
	case err != nil:
		return "is not a URL: " + err.Error()
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "":
		return "must be https://HOST[:PORT] (what clients outside type)"
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil:
		return "must be scheme://host[:port] only, without path, query or credentials"
	}
	return ""
}
