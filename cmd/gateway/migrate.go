package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/portcullis/portcullis/migrate"
)

const migrateUsage = `usage: gateway migrate nginx [--out FILE] [--force] [--root DIR] NGINX.CONF

Converts an nginx configuration (nginx + auth_basic + registry:2) into a Portcullis
configuration: one file per server block that proxies /v2/, each key commented with the
nginx directives it came from, every other directive listed with why it is not needed or
has no equivalent. A summary of what changes for clients goes to standard error.
`

// runMigrate implements `gateway migrate nginx FILE`.
func runMigrate(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "nginx" {
		fmt.Fprint(stderr, migrateUsage)
		return 2
	}
	fs := flag.NewFlagSet("migrate nginx", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, migrateUsage); fs.PrintDefaults() }
	out := fs.String("out", "", "write the configuration to FILE (further servers: FILE-2.yaml, ...); default standard output")
	force := fs.Bool("force", false, "overwrite existing output files")
	root := fs.String("root", "", "read absolute paths under DIR, as if it were / (a copy of another machine's /etc/nginx)")
	file, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return 2
	}
	fsys, name, err := nginxSource(*root, file)
	if err != nil {
		fmt.Fprintf(stderr, "gateway migrate: %v\n", err)
		return 1
	}
	outName := ""
	if *out != "" {
		outName = filepath.Base(*out)
	}
	res, err := migrate.Nginx(fsys, name, outName)
	if err != nil {
		fmt.Fprintf(stderr, "gateway migrate: %v\n", err)
		return 1
	}
	if *out == "" {
		if len(res.Outputs) > 1 {
			fmt.Fprintf(stderr, "gateway migrate: %d registry servers make %d configurations; name a file with --out\n\n%s", len(res.Outputs), len(res.Outputs), res.Summary)
			return 1
		}
		stdout.Write(res.Outputs[0].YAML)
		fmt.Fprint(stderr, res.Summary)
		return 0
	}
	dir := filepath.Dir(*out)
	for _, o := range res.Outputs {
		path := filepath.Join(dir, o.File)
		flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
		if *force {
			flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		}
		f, err := os.OpenFile(path, flags, 0o644)
		if errors.Is(err, os.ErrExist) {
			fmt.Fprintf(stderr, "gateway migrate: %s exists; pass --force to overwrite it\n", path)
			return 1
		}
		if err == nil {
			_, err = f.Write(o.YAML)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "gateway migrate: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "wrote %s (%s)\n", path, o.Server)
	}
	fmt.Fprint(stderr, "\n"+res.Summary)
	return 0
}

// parseInterleaved parses flags placed before or after the one positional argument.
func parseInterleaved(fs *flag.FlagSet, args []string) (string, error) {
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return "", errors.New("no file")
	}
	file := fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return "", err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "gateway migrate nginx: unexpected argument %q\n", fs.Arg(0))
		return "", errors.New("extra argument")
	}
	return file, nil
}

// nginxSource is the file system and absolute name nginx paths are read from: the real
// root, or --root standing in for it.
func nginxSource(root, file string) (fs.FS, string, error) {
	if root != "" {
		if _, err := os.Stat(root); err != nil {
			return nil, "", fmt.Errorf("--root: %w", err)
		}
		return os.DirFS(root), filepath.ToSlash(filepath.Join("/", file)), nil
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, "", err
	}
	return os.DirFS("/"), filepath.ToSlash(abs), nil
}
