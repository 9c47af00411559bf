package config

import (
	"errors"
	"fmt"
	"strings"
)

// Source says where a setting came from: a line of the configuration file, an
// environment variable or a command-line flag. The zero Source is the built-in default.
type Source struct {
	File string // the configuration file ("" in Parse, which reads bytes)
	Line int    // 1-based line in File, when File or Line is set
	Env  string // the environment variable, e.g. GATEWAY_LISTEN
	Flag string // the flag name without dashes, e.g. listen
}

// String is "gw.yaml:3", "GATEWAY_LISTEN", "--listen", "line 3", or "" for a default.
func (s Source) String() string {
	switch {
	case s.Env != "":
		return s.Env
	case s.Flag != "":
		return "--" + s.Flag
	case s.File != "" && s.Line > 0:
		return fmt.Sprintf("%s:%d", s.File, s.Line)
	case s.File != "":
		return s.File
	case s.Line > 0:
		return fmt.Sprintf("line %d", s.Line)
	}
	return ""
}

// rank orders problems by source: the file, the environment, flags, then defaults.
func (s Source) rank() int {
	switch {
	case s.Env != "":
		return 1
	case s.Flag != "":
		return 2
	case s.File != "" || s.Line > 0:
		return 0
	}
	return 3
}

// Problem is one thing wrong with the configuration: where it was set, the key it concerns
// and what to do about it. Load and Validate return every Problem at once, joined with
// errors.Join; Problems lists them back.
type Problem struct {
	Source Source
	Key    string // the YAML key (tls_cert); "" for a problem of a whole file
	Msg    string
}

// Error reads "gw.yaml:3: tls_cretificate: unknown key; did you mean tls_cert?",
// "GATEWAY_LISTN: unknown variable; did you mean GATEWAY_LISTEN?" or, for a default
// value, "listen: ...". A variable or a flag names its key already.
func (p *Problem) Error() string {
	var parts []string
	if w := p.Source.String(); w != "" {
		parts = append(parts, w)
	}
	if p.Key != "" && p.Source.Env == "" && p.Source.Flag == "" {
		parts = append(parts, p.Key)
	}
	return strings.Join(append(parts, p.Msg), ": ")
}

func problemf(src Source, key, format string, args ...any) *Problem {
	return &Problem{Source: src, Key: key, Msg: fmt.Sprintf(format, args...)}
}

// Problems flattens an error from Load, Read, Parse or Validate into its single problems,
// in order. Errors that are not a *Problem (none today) come back as they are.
func Problems(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Problems(e)...)
		}
		return out
	}
	return []error{err}
}

// keyOf is the key a problem concerns, "" if it names none.
func keyOf(err error) string {
	if p, ok := errors.AsType[*Problem](err); ok {
		return p.Key
	}
	return ""
}

// didYouMean is "; did you mean n?", or "" when there is no suggestion.
func didYouMean(n string) string {
	if n != "" {
		return "; did you mean " + n + "?"
	}
	return ""
}

// Nearest returns the entry of known that word is most plausibly a misspelling of, or ""
// when none is close. Case and '-' against '_' do not count. A word may also be a longer
// or a shorter form of the known one (tls_certificate for tls_cert, metrics for
// metrics_listen): then the part they share is compared, plus one. Close means at most one
// edit per three letters compared (at least one); of those, the fewest edits per letter
// of the known word wins, then the earlier entry.
func Nearest(word string, known []string) string {
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "_") }
	w := norm(word)
	best, bestRatio := "", 0.0
	for _, k := range known {
		kn := norm(k)
		if kn == "" {
			continue
		}
		score := editDistance(w, kn)
		ok := score <= max(1, len(kn)/3)
		switch {
		case len(w) > len(kn):
			if d := editDistance(w[:len(kn)], kn) + 1; d <= max(1, len(kn)/3) && (!ok || d < score) {
				score, ok = d, true
			}
		case len(w) >= 4 && len(w) < len(kn):
			if d := editDistance(w, kn[:len(w)]) + 1; d <= max(1, len(w)/3) && (!ok || d < score) {
				score, ok = d, true
			}
		}
		if ratio := float64(score) / float64(len(kn)); ok && (best == "" || ratio < bestRatio) {
			best, bestRatio = k, ratio
		}
	}
	return best
}

// nearestEnv is Nearest for a GATEWAY_ variable, comparing what follows the prefix (which
// every candidate shares, and which would otherwise make any two names look close).
func nearestEnv(name string) string {
	var keys []string
	for _, e := range knownEnv() {
		keys = append(keys, strings.TrimPrefix(e, envPrefix))
	}
	if n := Nearest(strings.TrimPrefix(name, envPrefix), keys); n != "" {
		return envPrefix + n
	}
	return ""
}

// editDistance is the optimal string alignment distance between a and b: insertions,
// deletions, substitutions and transpositions of adjacent bytes each cost one. Plain
// Levenshtein (github.com/agnivade/levenshtein) counts a transposition, the commonest
// typo (tls_cret for tls_cert), as two, which is why this is not that library.
func editDistance(a, b string) int {
	// d[i][j] is the distance between a[:i] and b[:j]; three rows are enough.
	prev2, prev, cur := make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
