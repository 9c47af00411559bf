package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/portcullis/portcullis/config"
	"github.com/portcullis/portcullis/token"
)

const tokenUsage = `usage:
  gateway token rotate [--data DIR | --config FILE] [flags]
      make a new token signing key in DATA/token; the old one keeps verifying until the
      longest token it signed has expired. A running gateway picks it up by itself.
  gateway token print-ca [--data DIR | --config FILE] [flags]
      print the token CA (what a registry with auth: token trusts) and a registry config
`

// runToken implements `gateway token rotate` and `gateway token print-ca`. Both read the
// configuration as serve does (--data, --config, --token-* flags), so they act on the
// gateway's own DATA/token and lifetimes.
func runToken(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "rotate" && args[0] != "print-ca") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprint(stdout, tokenUsage)
			return 0
		}
		fmt.Fprint(stderr, tokenUsage)
		return 2
	}
	cmd := args[0]
	l, code := parseFlags("token "+cmd, args[1:], stdout, stderr, nil)
	if l == nil {
		return code
	}
	cfg, err := l.Load()
	if err != nil {
		printProblems(stderr, err)
		return 1
	}
	switch cmd {
	case "rotate":
		if cfg.TokenKey != "" {
			fmt.Fprintf(stderr, "gateway token rotate: tokens are signed with --token-key %s; replace that file to rotate (the old key keeps verifying)\n", cfg.TokenKey)
			return 1
		}
		kid, dropped, err := token.Rotate(cfg.TokenDir(), cfg.TokenAlg, max(cfg.RefreshTTL, cfg.TokenTTL, 5*time.Minute), time.Now())
		if err != nil {
			fmt.Fprintf(stderr, "gateway token rotate: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "new token signing key %s (%s) in %s\n", kid, cfg.TokenAlg, cfg.TokenDir())
		fmt.Fprintf(stdout, "retired keys keep verifying until their tokens expire (%v); %d expired key(s) removed\n", cfg.RefreshTTL, dropped)
		fmt.Fprintln(stdout, "a running gateway picks the new key up within seconds (SIGHUP to make it now)")
		return 0
	default:
		keys, err := token.OpenKeys(token.KeysOptions{Dir: cfg.TokenDir(), KeyFile: cfg.TokenKey, Alg: cfg.TokenAlg,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			fmt.Fprintf(stderr, "gateway token print-ca: %v\n", err)
			return 1
		}
		pem, err := os.ReadFile(keys.CAFile())
		if err != nil {
			fmt.Fprintf(stderr, "gateway token print-ca: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s\n%s", pem, registryConfig(cfg, keys.CAFile()))
		return 0
	}
}

// registryConfig is the auth section of a registry:2 (or v3) configuration that trusts
// this gateway's tokens.
func registryConfig(cfg config.Config, caFile string) string {
	realm := cfg.TokenRealm
	if realm == "" {
		realm = "https://" + cfg.TokenServiceName() + listenPort(cfg.Listen) + "/token"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# %s is the token CA above. In a registry's config.yml:\n", caFile)
	fmt.Fprintf(&b, "auth:\n  token:\n    realm: %s\n    service: %s\n    issuer: %s\n    rootcertbundle: %s\n",
		realm, cfg.TokenServiceName(), cfg.TokenIssuer, caFile)
	fmt.Fprintf(&b, "# v3 registries may also read the key set: jwks: (a copy of %s)\n", "https://<gateway>/.well-known/jwks.json")
	if !cfg.TokenX5C {
		b.WriteString("# A registry that clients reach directly (its realm at the gateway) needs tokens with x5c:\n" +
			"# start the gateway with --token-x5c (token_x5c: true). Behind it with --upstream-auth token, no need.\n")
	}
	return b.String()
}

// listenPort is ":PORT" of a listen address, "" for 443.
func listenPort(listen string) string {
	i := strings.LastIndexByte(listen, ':')
	if i < 0 || listen[i:] == ":443" {
		return ""
	}
	return listen[i:]
}
