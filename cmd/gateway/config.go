package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/portcullis/portcullis/config"
)

// configHelp follows the flag list of the commands that read the configuration.
const configHelp = `Each flag is also a key of the --config file (the flag name with '_' for '-') and an
environment variable (GATEWAY_ and the key in upper case): flags win over variables,
variables over the file. Durations are Go durations (60s, 2m) or whole seconds (60).
Unknown keys and GATEWAY_ variables are errors; every problem is listed at once.
`

// commandHelp is the first lines of `gateway help CMD` for the commands whose flags are
// the configuration's (serve shows the whole usage instead).
var commandHelp = map[string]string{
	"check": "Usage: gateway check [flags]\n\nRead the configuration as serve would, load every file it names (users, groups, policy\nand its tests, certificates) and list every problem; exit 1 if there is any.\n",
	"gc":    "Usage: gateway gc [--delete] [--untagged] [flags]\n\nGarbage-collect the bundled registry under DATA/registry (a dry run unless --delete).\nRun it while the gateway is stopped. Of the configuration it uses --data and --upstream.\n",
}

// parseFlags parses a subcommand's flags: the configuration's, --config, and those extra
// adds. The loader is nil when the command must exit at once with the code: 0 after -h
// (its help went to stdout), 2 after a flag that did not parse (said on stderr, with the
// nearest flag for a misspelt one).
func parseFlags(name string, args []string, stdout, stderr io.Writer, extra func(*flag.FlagSet)) (*config.Loader, int) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors and help are printed below, once
	fs.Usage = func() {}
	if extra != nil {
		extra(fs)
	}
	l := config.NewLoader(fs, os.Environ)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printHelp(stdout, name, fs)
		return nil, 0
	case err != nil:
		fmt.Fprintf(stderr, "gateway %s: %s\nRun 'gateway help %s' for its flags.\n", name, flagProblem(err, fs), name)
		return nil, 2
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "gateway %s: unexpected argument %q\nRun 'gateway help %s' for its flags.\n", name, fs.Arg(0), name)
		return nil, 2
	}
	return l, 0
}

// readConfig parses the flags and reads the configuration without validating it, for
// commands that use only part of it (gc). A non-zero code means the command should exit
// with it: 1 after the problems were printed.
func readConfig(name string, args []string, stdout, stderr io.Writer, extra func(*flag.FlagSet)) (config.Config, int) {
	l, code := parseFlags(name, args, stdout, stderr, extra)
	if l == nil {
		return config.Config{}, code
	}
	cfg, err := l.Read()
	if err != nil {
		printProblems(stderr, err)
		return cfg, 1
	}
	return cfg, 0
}

// printProblems lists every configuration problem, one a line.
func printProblems(w io.Writer, errs ...error) {
	fmt.Fprintln(w, "gateway: configuration problems:")
	for _, err := range errs {
		for _, e := range config.Problems(err) {
			fmt.Fprintf(w, "  - %v\n", e)
		}
	}
}

// flagProblem words a flag parsing error; a misspelt flag gets the nearest one
// ("unknown flag --listn; did you mean --listen?").
func flagProblem(err error, fs *flag.FlagSet) string {
	name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: ")
	if !ok {
		return err.Error()
	}
	name = strings.TrimLeft(name, "-")
	var known []string
	fs.VisitAll(func(f *flag.Flag) { known = append(known, f.Name) })
	if n := config.Nearest(name, known); n != "" {
		return "unknown flag --" + name + "; did you mean --" + n + "?"
	}
	return "unknown flag --" + name
}

// printHelp is `gateway help NAME`: serve's is the whole usage, then its flags.
func printHelp(w io.Writer, name string, fs *flag.FlagSet) {
	if h, ok := commandHelp[name]; ok {
		fmt.Fprint(w, h)
	} else {
		fmt.Fprint(w, usage)
	}
	fmt.Fprintf(w, "\nFlags of gateway %s:\n", name)
	printFlags(w, fs)
	fmt.Fprint(w, "\n"+configHelp)
}

// printFlags lists fs's flags as --name value, then the help and default indented.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		arg, help := flag.UnquoteUsage(f)
		if arg != "" {
			arg = " " + arg
		}
		if d := f.DefValue; d != "" && d != "false" && d != "0" {
			help += " (default " + d + ")"
		}
		fmt.Fprintf(w, "  --%s%s\n        %s\n", f.Name, arg, help)
	})
}

// serveFlags is serve's flag set, for `gateway help` without a command.
func serveFlags() *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	config.NewLoader(fs, os.Environ)
	return fs
}
