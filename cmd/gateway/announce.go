package main

import (
	"fmt"
	"log/slog"
	"net"

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
	backend := "bundled registry in " + registryRoot(cfg)
	if cfg.Upstream != "" {
		backend = "upstream " + cfg.Upstream
	}
	scheme := "https"
	if t == nil {
		scheme = "http"
	}
	logger.Info("portcullis gateway ready", "url", scheme+"://"+hp, "backend", backend, "version", version)
	if t != nil && t.caFile != "" {
		logger.Info("clients must trust the gateway's self-signed CA", "ca", t.caFile)
		logger.Info(fmt.Sprintf("docker: sudo mkdir -p /etc/docker/certs.d/%s && sudo cp %s /etc/docker/certs.d/%s/ca.crt", hp, t.caFile, hp))
		logger.Info(fmt.Sprintf("podman, skopeo, containerd: the same file as /etc/containers/certs.d/%s/ca.crt; `gateway ca` prints more", hp))
	}
	login := "docker login " + hp
	if cfg.HtpasswdIsDefault() {
		login += " -u admin"
	}
	logger.Info("log in with: " + login)
}
