package auth

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// parseGroups reads a groups file into group -> sorted, unique members. Two formats, told
// apart by looking (see looksLikeYAML):
//
//	# YAML: a mapping of group to list of users, optionally under a "groups" key
//	groups: {admins: [alice], team-a: [bob, carol]}
//
//	# Apache htgroup lines: group, colon, users separated by spaces
//	admins: alice bob
//
// Every problem is reported; any problem rejects the whole file.
func parseGroups(data []byte) (map[string][]string, error) {
	var (
		groups map[string][]string
		err    error
	)
	if looksLikeYAML(data) {
		groups, err = parseGroupsYAML(data)
	} else {
		groups, err = parseGroupsLines(data)
	}
	if err != nil {
		return nil, err
	}
	for g, members := range groups {
		slices.Sort(members)
		groups[g] = slices.Compact(members)
	}
	return groups, nil
}

// looksLikeYAML reports whether data uses YAML structure: indentation, a block or flow
// list, a flow mapping or a document marker. htgroup lines use none of these, and a file of
// plain "group: user" lines reads the same either way.
func looksLikeYAML(data []byte) bool {
	for raw := range bytes.Lines(data) {
		line := strings.TrimRight(string(raw), "\r\n")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.TrimLeft(line, " \t") != line || // indented: nested mapping or list
			trimmed == "-" || strings.HasPrefix(trimmed, "- ") || // block list item
			strings.HasPrefix(trimmed, "---") || // document marker
			strings.ContainsAny(trimmed, "[{") { // flow list or mapping
			return true
		}
	}
	return false
}

// parseGroupsLines reads htgroup lines; a group named on several lines gets all their users.
func parseGroupsLines(data []byte) (map[string][]string, error) {
	groups := make(map[string][]string)
	var errs []error
	for i, raw := range bytes.Split(data, []byte{'\n'}) {
		line := strings.TrimSpace(string(raw))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, members, ok := strings.Cut(line, ":")
		if !ok {
			errs = append(errs, fmt.Errorf("line %d: want \"group: user1 user2\"", i+1))
			continue
		}
		name = strings.TrimSpace(name)
		if err := validGroupName(name); err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", i+1, err))
			continue
		}
		users := strings.Fields(members)
		for _, u := range users {
			if err := validGroupMember(u); err != nil {
				errs = append(errs, fmt.Errorf("line %d, group %q: %w", i+1, name, err))
			}
		}
		groups[name] = append(groups[name], users...)
		if groups[name] == nil {
			groups[name] = []string{}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return groups, nil
}

// parseGroupsYAML reads the YAML form. Anchors, aliases and nested structures are refused:
// a groups file is a flat list, and anything cleverer is more likely a mistake.
func parseGroupsYAML(data []byte) (map[string][]string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parsing YAML: %w", err)
	}
	groups := make(map[string][]string)
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return groups, nil // empty document
	}
	top := doc.Content[0]
	if top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
		return groups, nil
	}
	if top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: want a mapping of group to users", top.Line)
	}
	if len(top.Content) == 2 && top.Content[0].Value == "groups" &&
		top.Content[0].Kind == yaml.ScalarNode &&
		(top.Content[1].Kind == yaml.MappingNode || isNull(top.Content[1])) {
		top = top.Content[1]
	}
	var errs []error
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			errs = append(errs, fmt.Errorf("line %d: group name must be a plain string", k.Line))
			continue
		}
		if err := validGroupName(k.Value); err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", k.Line, err))
			continue
		}
		if _, dup := groups[k.Value]; dup {
			errs = append(errs, fmt.Errorf("line %d: group %q appears more than once", k.Line, k.Value))
			continue
		}
		members, err := yamlMembers(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d, group %q: %w", v.Line, k.Value, err))
			continue
		}
		groups[k.Value] = members
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return groups, nil
}

// yamlMembers reads a group's value: a list of user names, one user name, or nothing.
func yamlMembers(v *yaml.Node) ([]string, error) {
	switch {
	case isNull(v):
		return []string{}, nil
	case v.Kind == yaml.ScalarNode:
		if err := validGroupMember(v.Value); err != nil {
			return nil, fmt.Errorf("%w (list several users as [alice, bob])", err)
		}
		return []string{v.Value}, nil
	case v.Kind != yaml.SequenceNode:
		return nil, errors.New("want a list of user names")
	}
	members := make([]string, 0, len(v.Content))
	for _, item := range v.Content {
		if item.Kind != yaml.ScalarNode || isNull(item) {
			return nil, fmt.Errorf("line %d: want a user name", item.Line)
		}
		if err := validGroupMember(item.Value); err != nil {
			return nil, fmt.Errorf("line %d: %w", item.Line, err)
		}
		members = append(members, item.Value)
	}
	return members, nil
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// validGroupName accepts what both formats can write back: no space, colon or control.
func validGroupName(name string) error {
	if name == "" {
		return errors.New("empty group name")
	}
	if strings.IndexFunc(name, badNameRune) >= 0 {
		return fmt.Errorf("group name %q contains a space, colon or control character", name)
	}
	return nil
}

// validGroupMember accepts user names an htpasswd file and an htgroup line can both hold.
func validGroupMember(user string) error {
	if user == "" {
		return errors.New("empty user name")
	}
	if strings.IndexFunc(user, badNameRune) >= 0 {
		return fmt.Errorf("user name %q contains a space, colon or control character", user)
	}
	return nil
}

func badNameRune(r rune) bool {
	return r == ':' || unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar
}

// invertGroups turns group -> members into user -> sorted groups.
func invertGroups(groups map[string][]string) map[string][]string {
	byUser := make(map[string][]string)
	for g, members := range groups {
		for _, u := range members {
			byUser[u] = append(byUser[u], g)
		}
	}
	for _, gs := range byUser {
		slices.Sort(gs)
	}
	return byUser
}
