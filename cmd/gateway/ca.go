package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/portcullis/portcullis/certs"
)

// runCA implements `gateway ca`: it prints the self-signed CA (creating it on first use)
// and the exact commands to make docker, podman/containerd and the system trust it.
func runCA(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ca", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "./data", "data directory of the gateway")
	listen := fs.String("listen", ":8443", "address the gateway listens on (for the port)")
	var hosts multiFlag
	fs.Var(&hosts, "hostname", "name clients use to reach the gateway (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	_, port, err := net.SplitHostPort(*listen)
	if err != nil {
		fmt.Fprintf(stderr, "gateway ca: --listen %q is not host:port\n", *listen)
		return 2
	}
	ss, err := certs.NewSelfSigned(certs.SelfSignedOptions{
		Dir: filepath.Join(*data, "certs"), Hosts: hosts, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Fprintf(stderr, "gateway ca: %v\n", err)
		return 1
	}
	pem, err := os.ReadFile(ss.CAFile())
	if err != nil {
		fmt.Fprintf(stderr, "gateway ca: %v\n", err)
		return 1
	}
	names := append([]string{"localhost"}, hosts...)
	var hostPorts []string
	for _, h := range names {
		hostPorts = append(hostPorts, net.JoinHostPort(h, port))
	}
	fmt.Fprintf(stdout, "%s\n%s", pem, certs.TrustInstructions(ss.CAFile(), hostPorts))
	return 0
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }
