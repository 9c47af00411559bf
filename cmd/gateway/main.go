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
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `Portcullis gateway: TLS, login and access policy in front of a container registry.

Usage:
  gateway [serve] [flags]          run the gateway (default; see gateway serve -h)
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
  gateway version                  print the version
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
		return runServe(ctx, args, stderr)
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
	case "version":
		fmt.Fprintln(stdout, "portcullis gateway", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "gateway: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}
