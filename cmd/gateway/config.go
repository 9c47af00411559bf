package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/portcullis/portcullis/config"
)

// loadConfig parses flags, reads and validates the configuration. A non-zero code means
// the problems were printed and the command should exit with it.
func loadConfig(name string, args []string, stderr io.Writer) (config.Config, int) {
	cfg, code := readConfig(name, args, stderr, nil)
	if code != 0 {
		return cfg, code
	}
	if err := cfg.Validate(); err != nil {
		printProblems(stderr, err)
		return cfg, 1
	}
	return cfg, 0
}

// readConfig parses the configuration flags (and any a subcommand adds with extra) and
// reads the configuration from its sources, without validating it.
func readConfig(name string, args []string, stderr io.Writer, extra func(*flag.FlagSet)) (config.Config, int) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	if extra != nil {
		extra(fs)
	}
	loader := config.NewLoader(fs, os.LookupEnv)
	if err := fs.Parse(args); err != nil {
		return config.Config{}, 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gateway %s: unexpected argument %q\n", name, fs.Arg(0))
		return config.Config{}, 2
	}
	cfg, err := loader.Load()
	if err != nil {
		printProblems(stderr, err)
		return cfg, 1
	}
	return cfg, 0
}

func printProblems(w io.Writer, err error) {
	fmt.Fprintln(w, "gateway: configuration problems:")
	for _, e := range unjoin(err) {
		fmt.Fprintf(w, "  - %v\n", e)
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}
