package audit

import (
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Filter selects records; zero fields select everything. Checkpoints are left out unless
// Action is "checkpoint".
type Filter struct {
	// User matches the principal, or the account a failed login claimed.
	User string
	// Repo matches the repository exactly, or as a path.Match pattern when it holds a
	// '*' ("prod/*"); a trailing '/' matches a namespace and everything under it.
	Repo string
	// Action matches the kind (pull, push, delete, catalog, denied, login_failed, ...) or
	// one of the actions the request needed.
	Action string
	// Since keeps records at or after it.
	Since time.Time
	// Denied keeps denials only.
	Denied bool
}

// Match reports whether l passes f.
func (f Filter) Match(l Line) bool {
	if l.Kind == KindCheckpoint && f.Action != string(KindCheckpoint) {
		return false
	}
	if f.User != "" && l.User != f.User && l.Account != f.User {
		return false
	}
	if f.Repo != "" && !matchRepo(f.Repo, l.Repository) {
		return false
	}
	if f.Action != "" && string(l.Kind) != f.Action && !slices.Contains(l.Actions, f.Action) {
		return false
	}
	if !f.Since.IsZero() && l.Time.Before(f.Since) {
		return false
	}
	if f.Denied && l.Kind != KindDenied && l.Decision != DecisionDenied {
		return false
	}
	return true
}

func matchRepo(pattern, repo string) bool {
	switch {
	case repo == "":
		return false
	case strings.HasSuffix(pattern, "/"):
		return strings.HasPrefix(repo, pattern)
	case strings.ContainsAny(pattern, "*?["):
		ok, _ := path.Match(pattern, repo)
		return ok
	}
	return repo == pattern
}

// Query calls fn, in chain order, with every record of files that f matches, and the line
// as read. Lines that are not records are skipped.
func Query(files []string, f Filter, fn func(l Line, raw []byte) error) error {
	fls, err := readFiles(files)
	if err != nil {
		return err
	}
	for _, fl := range fls {
		for _, b := range fl.lines {
			l, err := parseLine(b)
			if err != nil || !f.Match(l) {
				continue
			}
			if err := fn(l, b); err != nil {
				return err
			}
		}
	}
	return nil
}

// Table writes records as an aligned table, one per line, for people: time, kind, user,
// client, repository, reference, status and reason. What clients sent is shown with
// control characters replaced, so a name cannot move the cursor or fake a row.
type Table struct {
	tw *tabwriter.Writer
	n  int
}

// NewTable starts a table on w.
func NewTable(w io.Writer) *Table {
	t := &Table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	fmt.Fprintln(t.tw, "TIME\tKIND\tUSER\tCLIENT\tREPOSITORY\tREFERENCE\tSTATUS\tREASON")
	return t
}

// Add writes one record's row.
func (t *Table) Add(l Line) {
	user := l.User
	if user == "" && l.Account != "" {
		user = l.Account + " (claimed)"
	}
	ref := l.Reference
	if l.Digest != "" && l.Digest != ref {
		if ref != "" {
			ref += " -> "
		}
		ref += l.Digest
	}
	status := ""
	if l.Status != 0 {
		status = strconv.Itoa(l.Status)
	}
	cols := []string{l.Time.UTC().Format(time.RFC3339), string(l.Kind), user, l.ClientIP, l.Repository, ref, status, l.Reason}
	for i, c := range cols {
		cols[i] = printable(c)
	}
	fmt.Fprintln(t.tw, strings.Join(cols, "\t"))
	t.n++
}

// Close flushes the table.
func (t *Table) Close() error { return t.tw.Flush() }

// printable replaces control characters and tabs, and shows "-" for empty.
func printable(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}
