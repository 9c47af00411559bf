package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/portcullis/portcullis/auth"
)

// runPasswd implements `gateway passwd [--cost N] FILE USER`: the password comes from
// standard input, or from a prompt (asked twice) when standard input is a terminal.
func runPasswd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("passwd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cost := fs.Int("cost", 10, "bcrypt cost (4-31); each step doubles the work of a login")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gateway passwd [--cost N] FILE USER   (password on standard input)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return 2
	}
	file, user := fs.Arg(0), fs.Arg(1)
	pass, err := readPassword(stdin, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "gateway passwd: %v\n", err)
		return 1
	}
	if err := auth.SetPassword(file, user, pass, *cost); err != nil {
		fmt.Fprintf(stderr, "gateway passwd: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "password for %s set in %s\n", user, file)
	return 0
}

func readPassword(stdin io.Reader, stderr io.Writer) ([]byte, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return nil, err
		}
		fmt.Fprint(stderr, "Again: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(p1, p2) {
			return nil, errors.New("the passwords differ")
		}
		return p1, nil
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading password: %w", err)
	}
	line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
	if len(line) == 0 {
		return nil, errors.New("empty password on standard input")
	}
	return line, nil
}
