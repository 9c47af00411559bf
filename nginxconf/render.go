package nginxconf

import (
	"strings"
)

// Render writes directives as nginx configuration text, four spaces per block level,
// quoting only the words that need it. Parse reads the result back to the same names,
// arguments and blocks (file and line aside).
func Render(ds []*Directive) string {
	var b strings.Builder
	render(&b, ds, 0)
	return b.String()
}

func render(b *strings.Builder, ds []*Directive, depth int) {
	indent := strings.Repeat("    ", depth)
	for _, d := range ds {
		b.WriteString(indent)
		b.WriteString(Quote(d.Name))
		for _, a := range d.Args {
			b.WriteByte(' ')
			b.WriteString(Quote(a))
		}
		if !d.IsBlock() {
			b.WriteString(";\n")
			continue
		}
		b.WriteString(" {\n")
		render(b, d.Block, depth+1)
		b.WriteString(indent + "}\n")
	}
}

// Quote returns s as one nginx word: as it is when the lexer reads it back unchanged,
// otherwise in double quotes with '"' and '\' escaped.
func Quote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\r\n;{}#\"'\\") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
