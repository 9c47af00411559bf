package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/audit"
	"github.com/portcullis/portcullis/config"
)

const auditUsage = `Usage:
  gateway audit verify [--key FILE | --data DIR] FILE...
      check the hash chain across the files (rotated ones in any order) and every
      checkpoint's signature; name the first bad line. Exit 1 if one is found.
      The key is DATA/audit/checkpoint.pub unless --key names another.
  gateway audit query [--user U] [--repo R] [--action A] [--since 24h] [--denied]
                      [--format json|table] FILE...
      print the matching records, as JSON lines (default) or a table.
      --repo takes a name, a namespace (prod/) or a pattern (prod/*); --since a
      duration back from now (24h, 7d) or a time (2026-11-30, RFC 3339).
`

func runAudit(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, auditUsage)
		return 2
	}
	switch args[0] {
	case "verify":
		return runAuditVerify(args[1:], stdout, stderr)
	case "query":
		return runAuditQuery(args[1:], time.Now(), stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, auditUsage)
		return 0
	}
	fmt.Fprintf(stderr, "gateway audit: unknown command %q\n\n%s", args[0], auditUsage)
	return 2
}

// flagsAndFiles parses flags wherever they are among the file names.
func flagsAndFiles(fset *flag.FlagSet, args []string) ([]string, error) {
	var files []string
	for {
		if err := fset.Parse(args); err != nil {
			return nil, err
		}
		if fset.NArg() == 0 {
			return files, nil
		}
		files = append(files, fset.Arg(0))
		args = fset.Args()[1:]
	}
}

func runAuditVerify(args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fset.SetOutput(stderr)
	key := fset.String("key", "", "public key verifying checkpoints (default DATA/audit/checkpoint.pub)")
	defData := config.Defaults().Data
	if d, ok := os.LookupEnv("GATEWAY_DATA"); ok && d != "" {
		defData = d // as serve reads it, so a container's environment is enough
	}
	data := fset.String("data", defData, "data directory holding audit/checkpoint.pub (default GATEWAY_DATA, else ./data)")
	files, err := flagsAndFiles(fset, args)
	if err != nil {
		return 2
	}
	if len(files) == 0 {
		fmt.Fprint(stderr, "gateway audit verify: name the audit files\n\n"+auditUsage)
		return 2
	}
	var pub ed25519.PublicKey
	keyFile := *key
	if keyFile == "" {
		keyFile = filepath.Join(*data, "audit", audit.PublicKeyFile)
	}
	pub, err = audit.LoadPublicKey(keyFile)
	switch {
	case err == nil:
	case *key == "" && errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(stderr, "gateway audit verify: no key at %s; checking the chain only (give --key or --data)\n", keyFile)
	default:
		fmt.Fprintf(stderr, "gateway audit verify: %v\n", err)
		return 1
	}
	rep, err := audit.Verify(files, pub)
	if err != nil {
		fmt.Fprintf(stderr, "gateway audit verify: %v\n", err)
		return 1
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(stdout, "note: %s\n", n)
	}
	if !rep.OK() {
		fmt.Fprintf(stdout, "FAIL %s\n", rep.Problem)
		return 1
	}
	fmt.Fprintf(stdout, "OK: %d records and %d checkpoints, seq %d to %d, in %d files (%s)\n",
		rep.Records, rep.Checkpoints, rep.FirstSeq, rep.LastSeq, len(rep.Files), strings.Join(rep.Files, ", "))
	return 0
}

func runAuditQuery(args []string, now time.Time, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("audit query", flag.ContinueOnError)
	fset.SetOutput(stderr)
	var f audit.Filter
	fset.StringVar(&f.User, "user", "", "the principal, or the account a failed login claimed")
	fset.StringVar(&f.Repo, "repo", "", "repository: a name, a namespace (prod/) or a pattern (prod/*)")
	fset.StringVar(&f.Action, "action", "", "kind (pull, push, delete, catalog, denied, login_failed, token_issued, config_reloaded, gc) or action needed")
	since := fset.String("since", "", "records from this long ago (24h, 7d) or this time (2026-11-30, RFC 3339)")
	fset.BoolVar(&f.Denied, "denied", false, "denials only")
	format := fset.String("format", "json", "json (the lines as written) or table")
	files, err := flagsAndFiles(fset, args)
	if err != nil {
		return 2
	}
	if len(files) == 0 {
		fmt.Fprint(stderr, "gateway audit query: name the audit files\n\n"+auditUsage)
		return 2
	}
	if *since != "" {
		if f.Since, err = parseSince(*since, now); err != nil {
			fmt.Fprintf(stderr, "gateway audit query: --since %v\n", err)
			return 2
		}
	}
	var emit func(audit.Line, []byte) error
	var table *audit.Table
	switch *format {
	case "json":
		emit = func(_ audit.Line, raw []byte) error {
			_, err := stdout.Write(append(raw, '\n'))
			return err
		}
	case "table":
		table = audit.NewTable(stdout)
		emit = func(l audit.Line, _ []byte) error { table.Add(l); return nil }
	default:
		fmt.Fprintf(stderr, "gateway audit query: --format %q: use json or table\n", *format)
		return 2
	}
	err = audit.Query(files, f, emit)
	if table != nil {
		table.Close()
	}
	if err != nil {
		fmt.Fprintf(stderr, "gateway audit query: %v\n", err)
		return 1
	}
	return 0
}

// parseSince reads a duration back from now (24h, 90m, 7d) or a time (a date, or RFC 3339).
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil && n >= 0 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: write a duration (24h, 7d) or a time (2026-11-30, 2026-11-30T12:00:00Z)", s)
}

// appendGC records what `gateway gc --delete` removed in the audit trail, continuing its
// chain (the gateway is stopped during gc, so the trail is this process's alone).
func appendGC(ctx context.Context, cfg config.Config, ev audit.Event, stderr io.Writer) error {
	if !cfg.AuditEnabled() {
		return nil
	}
	if err := cfg.ValidateAudit(); err != nil {
		return err
	}
	t, err := buildTrail(cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	emitErr := t.Emit(ctx, ev)
	cctx, cancel := context.WithTimeout(ctx, closeTimeout)
	defer cancel()
	return errors.Join(emitErr, t.Close(cctx))
}
