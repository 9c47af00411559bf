package migrate

import (
	"fmt"
	"strings"

	"github.com/portcullis/portcullis/nginxconf"
)

// summary writes what was converted, what changes for users and what to do next.
func summary(cfg *nginxconf.Config, t *tree, docs []*doc) string {
	var b strings.Builder
	files := "1 file"
	if n := len(cfg.Files); n > 1 {
		files = fmt.Sprintf("%d files", n)
	}
	fmt.Fprintf(&b, "Read %s (%s): %d registry server(s) converted.\n", cfg.Main, files, len(docs))
	for _, x := range docs {
		b.WriteString("\n")
		fmt.Fprintf(&b, "%s <- %s\n", x.file, x.server.label())
		wrap(&b, "  ", "  ", x.what())
		var changes []string
		if x.policyHint {
			changes = append(changes, "Access: nginx let every user in the htpasswd file pull, push and delete every repository. Portcullis's default policy lets each user pull everything but push and delete only under their own name (alice/...), and members of the group \"admins\" (a groups file) everything. To keep nginx's rule, use the policy examples/policies/authenticated-all (the commented policy line in "+x.file+").")
		}
		changes = append(changes, x.changes...)
		if len(changes) > 0 {
			b.WriteString("  What changes for clients:\n")
			for _, c := range changes {
				wrap(&b, "  - ", "    ", c)
			}
		}
		var notNeededN, noEqN int
		for _, n := range x.notes {
			if n.kind == notNeeded {
				notNeededN++
			} else {
				noEqN++
			}
		}
		wrap(&b, "  ", "  ", fmt.Sprintf("Directives not needed any more: %d; with no equivalent: %d. %s lists each with its reason.", notNeededN, noEqN, x.file))
	}
	var other []string
	for _, s := range t.servers {
		if s.kind == kindOther {
			other = append(other, s.label())
		}
	}
	if len(other) > 0 {
		b.WriteString("\n")
		wrap(&b, "", "", "Left to nginx (no registry behind them): "+strings.Join(other, "; ")+".")
	}
	if len(docs) > 1 {
		b.WriteString("\n")
		wrap(&b, "", "", "Each registry server becomes its own gateway process with its own configuration; nginx told them apart by server_name on a shared port, Portcullis needs one address (or port) each.")
	}
	b.WriteString("\nNext:\n")
	for _, x := range docs {
		fmt.Fprintf(&b, "  gateway check --config %s\n", x.file)
	}
	b.WriteString("  then stop nginx and run gateway serve --config FILE (deploy/portcullis.service reads\n  /etc/portcullis/gateway.yaml).\n")
	return b.String()
}

// what is one line saying what the configuration does.
func (x *doc) what() string {
	val := func(k string) string {
		if e := x.keys[k]; e != nil {
			if s, ok := e.value.(string); ok {
				return s
			}
		}
		return ""
	}
	tls := "HTTPS with the certificate from ssl_certificate"
	switch val("tls") {
	case "off":
		tls = "plain HTTP"
	case "self-signed":
		tls = "HTTPS with a generated CA"
	}
	users := "users from " + val("htpasswd")
	if val("htpasswd") == "" {
		users = "users from a new htpasswd file"
	}
	return fmt.Sprintf("%s on %s, %s, in front of %s.", tls, val("listen"), users, val("upstream"))
}

// wrap writes text wrapped at about 96 columns, the first line after first, the others
// after rest.
func wrap(b *strings.Builder, first, rest, text string) {
	const width = 96
	line := first
	start := true
	for _, w := range strings.Fields(text) {
		if !start && len(line)+1+len(w) > width {
			b.WriteString(line + "\n")
			line, start = rest, true
		}
		if start {
			line += w
			start = false
		} else {
			line += " " + w
		}
	}
	b.WriteString(line + "\n")
}
