package nginxconf

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// Directive is one directive: a name, its arguments and, for block directives (http,
// server, location, if, upstream...), the directives inside the braces.
type Directive struct {
	Name string
	Args []string
	// Block is nil for a simple directive and non-nil (perhaps empty) for a block.
	Block []*Directive
	File  string // file the directive was read from
	Line  int    // line of its name
}

// IsBlock reports whether the directive has a block.
func (d *Directive) IsBlock() bool { return d.Block != nil }

// Pos is "file:line".
func (d *Directive) Pos() string { return fmt.Sprintf("%s:%d", d.File, d.Line) }

// Error is a syntax or include problem at a place in a file.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Parse reads one file's text into directives. include directives are left as they are.
func Parse(file string, src []byte) ([]*Directive, error) {
	l := newLexer(file, string(src))
	ds, closed, err := parseBlock(l, 0)
	if err != nil {
		return nil, err
	}
	if closed {
		return nil, l.errorf(l.line, `unexpected "}": no block is open`)
	}
	return ds, nil
}

// maxDepth bounds block nesting (nginx has no limit, but no real configuration nests a
// hundred blocks, and the fuzzer should not overflow the stack).
const maxDepth = 100

// parseBlock reads directives until EOF (closed false) or a '}' (closed true).
func parseBlock(l *lexer, depth int) (ds []*Directive, closed bool, err error) {
	ds = []*Directive{}
	for {
		kind, words, err := l.next()
		if err != nil {
			return nil, false, err
		}
		switch kind {
		case tokEOF:
			if depth > 0 {
				return nil, false, l.errorf(l.line, `unexpected end of file, expecting "}"`)
			}
			return ds, false, nil
		case tokBlockEnd:
			if depth == 0 {
				return nil, false, l.errorf(l.line, `unexpected "}": no block is open`)
			}
			return ds, true, nil
		}
		d := &Directive{Name: words[0].Value, File: l.file, Line: words[0].Line}
		for _, w := range words[1:] {
			d.Args = append(d.Args, w.Value)
		}
		if kind == tokBlockStart {
			if depth+1 > maxDepth {
				return nil, false, l.errorf(d.Line, "blocks nested more than %d deep", maxDepth)
			}
			inner, _, err := parseBlock(l, depth+1)
			if err != nil {
				return nil, false, err
			}
			d.Block = inner
		}
		ds = append(ds, d)
	}
}

// Config is a main file with its includes spliced in.
type Config struct {
	// Main is the main file's name; Prefix is its directory, against which nginx resolves
	// relative paths (includes, certificates, htpasswd files).
	Main, Prefix string
	Directives   []*Directive
	// Files lists every file read, the main file first, in reading order.
	Files []string
}

// Load reads the main file name from fsys and every file its include directives name,
// recursively, splicing the included directives in place of each include (each keeping
// its own file and line). Paths are nginx's: absolute ones are looked up in fsys with the
// leading "/" removed (so os.DirFS("/") reads the real system, and a test's map a pretend
// one); relative ones are taken from the main file's directory, as nginx takes them from
// its conf prefix, whichever file the include is in (a relative name is taken as
// absolute). A pattern with glob characters may
// match nothing; a plain name must exist.
func Load(fsys fs.FS, name string) (*Config, error) {
	if !path.IsAbs(name) {
		name = "/" + name
	}
	name = path.Clean(name)
	c := &Config{Main: name, Prefix: path.Dir(name)}
	ds, err := c.load(fsys, name, nil, nil)
	if err != nil {
		return nil, err
	}
	c.Directives = ds
	return c, nil
}

// Resolve returns p as nginx reads a path argument: relative paths are under Prefix.
func (c *Config) Resolve(p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	return path.Join(c.Prefix, p)
}

func (c *Config) load(fsys fs.FS, name string, from *Directive, stack []string) ([]*Directive, error) {
	if slices.Contains(stack, name) {
		return nil, &Error{File: from.File, Line: from.Line, Msg: fmt.Sprintf("include cycle: %s includes itself through %s", name, strings.Join(stack, " -> "))}
	}
	src, err := fs.ReadFile(fsys, fsPath(name))
	if err != nil {
		if from == nil {
			return nil, fmt.Errorf("reading %s: %w", name, unwrapPath(err))
		}
		return nil, &Error{File: from.File, Line: from.Line, Msg: fmt.Sprintf("include %s: %v", name, unwrapPath(err))}
	}
	c.Files = append(c.Files, name)
	ds, err := Parse(name, src)
	if err != nil {
		return nil, err
	}
	return c.expand(fsys, ds, append(stack, name))
}

// expand replaces include directives in ds (and in its blocks) by what they include.
func (c *Config) expand(fsys fs.FS, ds []*Directive, stack []string) ([]*Directive, error) {
	out := make([]*Directive, 0, len(ds))
	for _, d := range ds {
		if d.Name != "include" || d.IsBlock() {
			if d.IsBlock() {
				inner, err := c.expand(fsys, d.Block, stack)
				if err != nil {
					return nil, err
				}
				d.Block = inner
			}
			out = append(out, d)
			continue
		}
		if len(d.Args) != 1 {
			return nil, &Error{File: d.File, Line: d.Line, Msg: fmt.Sprintf("include takes one file name or pattern, not %d arguments", len(d.Args))}
		}
		pattern := c.Resolve(d.Args[0])
		names := []string{pattern}
		if strings.ContainsAny(d.Args[0], "*?[") {
			matches, err := fs.Glob(fsys, fsPath(pattern))
			if err != nil {
				return nil, &Error{File: d.File, Line: d.Line, Msg: fmt.Sprintf("include pattern %q: %v", d.Args[0], err)}
			}
			names = names[:0]
			for _, m := range matches {
				// glob(3), which nginx calls, does not match hidden files with '*'.
				if strings.HasPrefix(path.Base(m), ".") && !strings.HasPrefix(path.Base(pattern), ".") {
					continue
				}
				names = append(names, "/"+m)
			}
			slices.Sort(names)
		}
		for _, n := range names {
			inc, err := c.load(fsys, n, d, stack)
			if err != nil {
				return nil, err
			}
			out = append(out, inc...)
		}
	}
	return out, nil
}

// fsPath turns an absolute nginx path into an io/fs path.
func fsPath(p string) string {
	p = strings.TrimPrefix(path.Clean(p), "/")
	if p == "" {
		return "."
	}
	return p
}

// unwrapPath drops the *fs.PathError wrapper, whose path is the fs-relative one.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
