// Command gateway is Portcullis: a TLS registry with docker login, per-repository policy
// and an audit trail, in front of its bundled registry or any upstream registry.
//
// This package only wires: it reads and validates the configuration, builds TLS, users,
// groups, policy and the backend, composes them with package gateway, and serves until a
// signal cancels the context. Each subcommand is in its own file.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `Portcullis gateway: TLS, login and access policy in front of a container registry.

Usage:
  gateway [serve] [flags]          run the gateway (the default command; flags below)
  gateway passwd [--cost N] FILE USER
                                   add or update a user in an htpasswd file (password on stdin)
  gateway check [--config FILE] [flags]
                                   validate the configuration, list every problem, exit 1 if any
  gateway gc [--delete] [--data DIR | --config FILE]
                                   garbage-collect the bundled registry (dry run unless --delete)
  gateway audit verify|query ... FILE...
                                   check the audit trail's chain and signatures, or search it
  gateway ca [--data DIR] [--hostname H] [--listen ADDR]
                                   print the self-signed CA and how to make clients trust it
  gateway policy test [DIR] | policy eval ...
                                   run a policy's Rego tests, or evaluate one decision
  gateway token rotate | print-ca [--data DIR | --config FILE]
                                   new token signing key; the token CA for registries
  gateway migrate nginx [--out FILE] NGINX.CONF
                                   convert an nginx + auth_basic configuration, say what changes
  gateway health [--url URL] [--ca FILE] [config flags]
                                   probe the running gateway's /v2/ (the container HEALTHCHECK)
  gateway version                  print the version
  gateway help [COMMAND]           this help, or a command's flags (also COMMAND -h)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches a subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return runServe(ctx, args, stdout, stderr)
	case "passwd":
		return runPasswd(args, stdin, stdout, stderr)
	case "check":
		return runCheck(ctx, args, stdout, stderr)
	case "gc":
		return runGC(ctx, args, stdout, stderr)
	case "ca":
		return runCA(args, stdout, stderr)
	case "audit":
		return runAudit(args, stdout, stderr)
	case "policy":
		return runPolicy(ctx, args, stdout, stderr)
	case "token":
		return runToken(args, stdout, stderr)
	case "migrate":
		return runMigrate(args, stdout, stderr)
	case "health":
		return runHealth(ctx, args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "portcullis gateway", version)
		return 0
	case "help":
		return runHelp(ctx, args, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "gateway: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

// runHelp is `gateway help [COMMAND]`: without one, the usage and serve's flags (as
// `gateway --help` and `gateway serve --help`); with one, that command's own -h, on stdout.
func runHelp(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0 || args[0] == "serve" || args[0] == "help" || args[0] == "version":
		printHelp(stdout, "serve", serveFlags())
		return 0
	case len(args) > 1:
		fmt.Fprintf(stderr, "gateway help: one command at a time\n\n%s", usage)
		return 2
	}
	switch args[0] {
	case "check", "gc", "passwd", "ca", "policy", "token":
		// Commands print their own help on -h; some exit 2 after it, as the flag package does.
		run(ctx, []string{args[0], "-h"}, strings.NewReader(""), stdout, stdout)
		return 0
	}
	fmt.Fprintf(stderr, "gateway help: unknown command %q\n\n%s", args[0], usage)
	return 2
}
