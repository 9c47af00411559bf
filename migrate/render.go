package migrate

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/portcullis/portcullis/nginxconf"
)

// keyOrder is the order keys are written in (the order of gateway serve -h, roughly).
var keyOrder = []string{
	"listen", "http_listen", "hostname", "tls", "tls_cert", "tls_key", "tls_client_ca",
	"htpasswd", "realm", "upstream", "trusted_proxy", "data",
}

// keyWhy explains keys set without an nginx directive.
var keyWhy = map[string]string{
	"data": "what the gateway keeps: generated certificates, the ACME cache, the default htpasswd (and, without upstream, the registry's storage); deploy/portcullis.service's StateDirectory",
}

// render writes the configuration: a header, each key with the nginx directives it came
// from, the policy hint, and every directive not carried over with its reason.
func (x *doc) render(cfg *nginxconf.Config) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Portcullis configuration converted by `gateway migrate nginx` from %s,\n# %s.\n", cfg.Main, x.server.label())
	b.WriteString("# Every key is also a flag (--tls-cert) and an environment variable (GATEWAY_TLS_CERT).\n")
	b.WriteString("# Check it with: gateway check --config " + x.file + "\n")
	for _, k := range keyOrder {
		e := x.keys[k]
		if e == nil {
			continue
		}
		b.WriteByte('\n')
		why := e.why
		if why == "" {
			why = keyWhy[k]
		}
		if why != "" {
			comment(&b, why)
		}
		for _, f := range e.from {
			comment(&b, "nginx: "+f)
		}
		b.WriteString(yamlKey(k, e.value))
	}
	b.WriteByte('\n')
	if x.policyHint {
		comment(&b, "Access: nginx let every user in the htpasswd file pull, push and delete every repository. Without a policy key the default policy applies: every user pulls everything and pushes and deletes under their own name (alice/...); members of the group \"admins\" (a groups file) may do everything. To keep nginx's rule instead, copy examples/policies/authenticated-all to /etc/portcullis/ and uncomment:")
		b.WriteString("# policy: /etc/portcullis/authenticated-all\n")
	} else {
		comment(&b, "Access: the default policy (every user pulls everything, pushes and deletes under their own name; group \"admins\" everything). To let anonymous clients pull, copy examples/policies/public-read and set:")
		b.WriteString("# policy: /etc/portcullis/public-read\n")
	}
	for _, kind := range []int{notNeeded, noEquivalent} {
		var ns []note
		for _, n := range x.notes {
			if n.kind == kind {
				ns = append(ns, n)
			}
		}
		if len(ns) == 0 {
			continue
		}
		b.WriteByte('\n')
		if kind == notNeeded {
			b.WriteString("# Not needed any more (Portcullis does this on its own):\n")
		} else {
			b.WriteString("# No equivalent in Portcullis (not converted):\n")
		}
		for _, n := range ns {
			wrap(&b, "# - ", "#   ", fmt.Sprintf("%s (%s): %s", brief(n.d), n.d.Pos(), n.reason))
		}
	}
	return []byte(b.String())
}

// yamlKey writes one key with its value in YAML, quoted as the encoder sees fit.
func yamlKey(k string, v any) string {
	var val yaml.Node
	if err := val.Encode(v); err != nil {
		panic(fmt.Sprintf("migrate: encoding %s: %v", k, err)) // strings and string lists always encode
	}
	if s, ok := v.(string); ok && strings.HasPrefix(s, ":") {
		val.Style = yaml.DoubleQuotedStyle // ":443" reads better quoted
	}
	doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: k}, &val}}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		panic(fmt.Sprintf("migrate: encoding %s: %v", k, err))
	}
	return b.String()
}

// comment writes text as "# " lines of about 96 columns.
func comment(b *strings.Builder, text string) { wrap(b, "# ", "# ", text) }
