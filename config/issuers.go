package config

import (
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// fileOnly are the structured settings only the configuration file holds: no flag or
// variable, values with a shape of their own (issuers, a map of headers, registry:2's
// notifications section). Each reads its YAML value into c, keys inside it checked as
// strictly as the top level's, and returns what is wrong with it, or "".
func fileOnly(c *Config) map[string]func(*yaml.Node) string {
	return map[string]func(*yaml.Node) string{
		"trusted_issuers":       c.readTrustedIssuers,
		"audit_webhook_headers": func(n *yaml.Node) string { return setStructured(n, &c.AuditWebhookHeaders) },
		"notifications":         func(n *yaml.Node) string { return setStructured(n, &c.Notifications) },
	}
}

// issuerKeys are the keys of a trusted_issuers entry, from TrustedIssuer's YAML tags.
var issuerKeys = func() []string {
	var out []string
	t := reflect.TypeOf(TrustedIssuer{})
	for i := range t.NumField() {
		out = append(out, strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0])
	}
	return out
}()

// readTrustedIssuers reads trusted_issuers: a list of mappings with TrustedIssuer's keys.
func (c *Config) readTrustedIssuers(n *yaml.Node) string {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		c.TrustedIssuers = nil
		return ""
	}
	if n.Kind != yaml.SequenceNode {
		return "want a list of issuers (- issuer: https://...), not " + kindName(n)
	}
	for i, item := range n.Content {
		m := resolve(item)
		if m.Kind == yaml.ScalarNode && m.Tag == "!!null" {
			continue // an empty entry, as yaml reads it: Validate says what it lacks
		}
		if m.Kind != yaml.MappingNode {
			return fmt.Sprintf("entry %d (line %d): want keys such as issuer and audience, not %s", i+1, m.Line, kindName(m))
		}
		for j := 0; j+1 < len(m.Content); j += 2 {
			k := m.Content[j]
			if k.Tag == "!!merge" {
				return fmt.Sprintf("entry %d (line %d): merge keys are not supported; write the keys out", i+1, k.Line)
			}
			if k.Kind == yaml.ScalarNode && k.Tag == "!!null" { // yaml.v3's decoder skips these silently
				return fmt.Sprintf("entry %d (line %d): a key is empty; write key: value", i+1, k.Line)
			}
			if !contains(issuerKeys, k.Value) {
				return fmt.Sprintf("entry %d (line %d): unknown key %q%s", i+1, k.Line, k.Value, didYouMean(Nearest(k.Value, issuerKeys)))
			}
		}
	}
	var list []TrustedIssuer
	if err := n.Decode(&list); err != nil {
		if te, ok := err.(*yaml.TypeError); ok {
			return strings.Join(te.Errors, "; ") // "line 3: cannot unmarshal !!str `maybe` into bool"
		}
		return strings.TrimPrefix(err.Error(), "yaml: ")
	}
	c.TrustedIssuers = list
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
