package main

import (
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/portcullis/portcullis/config"
)

// announce logs, in plain words, where the gateway listens and how a client starts using
// it: the CA to trust and the docker login command.
func announce(cfg config.Config, addr net.Addr, t *tlsSetup, logger *slog.Logger) {
	_, port, _ := net.SplitHostPort(addr.String())
	host := "localhost"
	if len(cfg.Hostname) > 0 {
		host = cfg.Hostname[0]
	}
	hp := net.JoinHostPort(host, port)
	// In a container (or behind NAT) the listen port is not what clients type: public_url
	// names it.
	if pub := cfg.PublicHost(); pub != "" {
		hp = pub
	}
	backend := "bundled registry in " + registryRoot(cfg)
	if cfg.Upstream != "" {
		backend = "upstream " + cfg.Upstream
	}
	scheme := "https"
	if t == nil {
		scheme = "http"
	}
	url := scheme + "://" + hp
	if cfg.PublicURL != "" {
		url = strings.TrimSuffix(cfg.PublicURL, "/")
	}
	logger.Info("portcullis gateway ready", "url", url, "listen", addr.String(), "backend", backend, "version", version)
	if t != nil && t.caFile != "" {
		if cfg.PublicURL != "" {
			logger.Info("clients must trust the gateway's self-signed CA; the path is the gateway's own (from a container: docker cp CONTAINER:"+t.caFile+" ca.crt, or run `gateway ca` in it)", "ca", t.caFile)
		} else {
			logger.Info("clients must trust the gateway's self-signed CA", "ca", t.caFile)
		}
		ca := t.caFile
		if cfg.PublicURL != "" {
			ca = "ca.crt" // copied out first, as the line above says
		}
		logger.Info(fmt.Sprintf("docker: sudo mkdir -p /etc/docker/certs.d/%s && sudo cp %s /etc/docker/certs.d/%s/ca.crt", hp, ca, hp))
		logger.Info(fmt.Sprintf("podman, skopeo, containerd: the same file as /etc/containers/certs.d/%s/ca.crt; `gateway ca` prints more", hp))
	}
	login := "docker login " + hp
	if cfg.HtpasswdIsDefault() {
		login += " -u admin"
	}
	logger.Info("log in with: " + login)
}
