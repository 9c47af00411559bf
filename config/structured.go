package config

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// setStructured decodes n into ptr, refusing unknown keys; the error says what is wrong
// in words, without yaml.v3's Go type names or its line numbers (relative to the value).
func setStructured(n *yaml.Node, ptr any) string {
	b, err := yaml.Marshal(resolve(n))
	if err != nil {
		return err.Error()
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(ptr); err != nil {
		msg := err.Error()
		msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:\n")
		var parts []string
		for _, l := range strings.Split(msg, "\n") {
			l = strings.TrimSpace(l)
			if i := strings.Index(l, ": "); strings.HasPrefix(l, "line ") && i > 0 {
				l = l[i+2:]
			}
			if l != "" {
				parts = append(parts, l)
			}
		}
		slices.Sort(parts)
		return fmt.Sprint(strings.Join(parts, "; "))
	}
	return ""
}
