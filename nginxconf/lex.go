package nginxconf

import (
	"fmt"
	"strings"
)

// Word is one argument as the lexer read it, quotes removed and escapes applied.
type Word struct {
	Value  string
	Quoted bool // written in single or double quotes
	Line   int  // line the word started on
}

// token kinds returned by lexer.next.
const (
	tokSimple     = iota // arguments ended by ';'
	tokBlockStart        // arguments ended by '{'
	tokBlockEnd          // '}'
	tokEOF               // end of input, nothing pending
)

// lexer splits nginx configuration text into directives. It is a transcription of nginx's
// ngx_conf_read_token (src/core/ngx_conf_file.c), so odd inputs split as nginx splits them:
// '}' ends no unquoted word ("a}" is one word), a closing quote must be followed by space,
// ';', '{' or ')', '#' starts a comment only where a word could start, and "${" keeps the
// brace inside the word.
type lexer struct {
	file string
	src  string
	pos  int
	line int
}

func newLexer(file, src string) *lexer { return &lexer{file: file, src: src, line: 1} }

func (l *lexer) errorf(line int, format string, args ...any) error {
	return &Error{File: l.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// next returns the words of the next directive and what ended them.
func (l *lexer) next() (kind int, words []Word, err error) {
	var (
		lastSpace    = true
		needSpace    bool
		sharpComment bool
		variable     bool
		quoted       bool
		sQuoted      bool
		dQuoted      bool
		start        int
		startLine    int
	)
	for {
		if l.pos >= len(l.src) {
			if len(words) > 0 || !lastSpace {
				return 0, nil, l.errorf(l.line, `unexpected end of file, expecting ";" or "}"`)
			}
			return tokEOF, nil, nil
		}
		ch := l.src[l.pos]
		l.pos++
		if ch == '\n' {
			l.line++
			sharpComment = false
		}
		if sharpComment {
			continue
		}
		if quoted {
			quoted = false
			continue
		}
		if needSpace {
			switch ch {
			case ' ', '\t', '\r', '\n':
				lastSpace, needSpace = true, false
				continue
			case ';':
				return tokSimple, words, nil
			case '{':
				return tokBlockStart, words, nil
			case ')':
				lastSpace, needSpace = true, false
			default:
				return 0, nil, l.errorf(l.line, "unexpected %q after a quoted string", string(ch))
			}
		}
		if lastSpace {
			start, startLine = l.pos-1, l.line
			switch ch {
			case ' ', '\t', '\r', '\n':
				continue
			case ';', '{':
				if len(words) == 0 {
					return 0, nil, l.errorf(l.line, "unexpected %q", string(ch))
				}
				if ch == '{' {
					return tokBlockStart, words, nil
				}
				return tokSimple, words, nil
			case '}':
				if len(words) != 0 {
					return 0, nil, l.errorf(l.line, `unexpected "}": the directive before it lacks its ";"`)
				}
				return tokBlockEnd, nil, nil
			case '#':
				sharpComment = true
				continue
			case '\\':
				quoted, lastSpace = true, false
				continue
			case '"':
				start++
				dQuoted, lastSpace = true, false
				continue
			case '\'':
				start++
				sQuoted, lastSpace = true, false
				continue
			case '$':
				variable, lastSpace = true, false
				continue
			default:
				lastSpace = false
				continue
			}
		}
		// Inside a word.
		if ch == '{' && variable {
			continue
		}
		variable = false
		if ch == '\\' {
			quoted = true
			continue
		}
		if ch == '$' {
			variable = true
			continue
		}
		found := false
		switch {
		case dQuoted:
			if ch == '"' {
				dQuoted, needSpace, found = false, true, true
			}
		case sQuoted:
			if ch == '\'' {
				sQuoted, needSpace, found = false, true, true
			}
		case ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == ';' || ch == '{':
			lastSpace, found = true, true
		}
		if !found {
			continue
		}
		q := needSpace // a word ended by its closing quote
		words = append(words, Word{Value: unescape(l.src[start : l.pos-1]), Quoted: q, Line: startLine})
		switch {
		case q:
		case ch == ';':
			return tokSimple, words, nil
		case ch == '{':
			return tokBlockStart, words, nil
		}
	}
}

// unescape applies nginx's escapes: \" \' \\ stand for the character, \t \r \n for
// tab, CR and LF; any other backslash stays as it is (regular expressions keep theirs).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case '"', '\'', '\\':
				i++
			case 't':
				b.WriteByte('\t')
				i++
				continue
			case 'r':
				b.WriteByte('\r')
				i++
				continue
			case 'n':
				b.WriteByte('\n')
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
