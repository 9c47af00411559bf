package config

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"regexp"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// Parse decodes a YAML configuration into c, over the values c already holds. It reports
// every problem, joined, each with its line: unknown keys (with the nearest known one),
// values of the wrong shape, bad durations, keys given twice, more than one document.
// Keys that are fine are applied even when others are not.
func Parse(data []byte, c *Config) error {
	return errors.Join(parseYAML("", data, c, map[string]Source{})...)
}

// parseYAML walks the document as a yaml.Node rather than decoding it into the struct,
// so that one problem does not hide the next: yaml.v3's decoder stops at the first type
// error and words its messages for Go types (cannot unmarshal !!int into time.Duration).
// It records in origin the line each key was set on.
func parseYAML(file string, data []byte, c *Config, origin map[string]Source) []error {
	at := func(line int) Source { return Source{File: file, Line: line} }
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil // an empty file is an empty configuration
	} else if err != nil {
		return []error{syntaxProblem(file, err)}
	}
	var errs []error
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		errs = append(errs, problemf(at(max(next.Line, 1)), "", "the file holds more than one YAML document (a second ---); keep one"))
	}
	root := resolve(&doc)
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = resolve(root.Content[0])
	}
	switch {
	case root.Kind == yaml.ScalarNode && root.Tag == "!!null":
		return errs // only comments, or ~
	case root.Kind != yaml.MappingNode:
		return append(errs, problemf(at(root.Line), "", "the file must hold keys and values (listen: \":8443\"), not %s", kindName(root)))
	}

	byKey := map[string]field{}
	for _, f := range fields(c) {
		byKey[f.key()] = f
	}
	firstLine := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		src := at(k.Line)
		if k.Kind != yaml.ScalarNode {
			errs = append(errs, problemf(src, "", "a key must be a plain word such as listen, not %s", kindName(k)))
			continue
		}
		key := k.Value
		if k.Tag == "!!null" { // yaml.v3's decoder skips these silently
			errs = append(errs, problemf(src, "", "a key is empty; write key: value"))
			continue
		}
		if k.Tag == "!!merge" {
			errs = append(errs, problemf(src, key, "merge keys are not supported; write the keys out"))
			continue
		}
		if line, dup := firstLine[key]; dup {
			errs = append(errs, problemf(src, key, "given twice (first on line %d); keep one", line))
			continue
		}
		firstLine[key] = k.Line
		if read, ok := fileOnly(c)[key]; ok { // issuers.go
			if msg := read(v); msg != "" {
				errs = append(errs, problemf(src, key, "%s", msg))
			} else {
				origin[key] = src
			}
			continue
		}
		f, ok := byKey[key]
		if !ok {
			suggest := didYouMean(Nearest(key, knownKeys()))
			if suggest == "" {
				suggest = " (keys are the flag names with '_' for '-'; gateway --help lists them)"
			}
			errs = append(errs, problemf(src, key, "unknown key%s", suggest))
			continue
		}
		if msg := f.setNode(v); msg != "" {
			errs = append(errs, problemf(src, key, "%s", msg))
			continue
		}
		origin[key] = src
	}
	return errs
}

// setNode sets the field from a YAML value. A list field also takes a single value as a
// list of one. It returns what is wrong with the value, or "".
func (f field) setNode(n *yaml.Node) string {
	n = resolve(n)
	switch p := f.ptr.(type) {
	case *string:
		s, msg := scalar(n, "a single value")
		if msg != "" {
			return msg
		}
		*p = s
	case *[]string:
		switch {
		case n.Kind == yaml.SequenceNode:
			list := make([]string, 0, len(n.Content))
			for i, item := range n.Content {
				s, msg := scalar(resolve(item), "a single value")
				if msg != "" {
					return "item " + strconv.Itoa(i+1) + ": " + msg
				}
				list = append(list, s)
			}
			*p = list
		case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
			*p = nil
		default:
			s, msg := scalar(n, "a list of values, or one value")
			if msg != "" {
				return msg
			}
			*p = []string{s}
		}
	case *time.Duration:
		s, msg := scalar(n, "a duration such as 60s")
		if msg != "" {
			return msg
		}
		if n.Tag == "!!null" {
			*p = 0
			return ""
		}
		d, err := ParseDuration(s)
		if err != nil {
			return err.Error()
		}
		*p = d
	case *int:
		s, msg := scalar(n, "a whole number")
		if msg != "" {
			return msg
		}
		c, err := ParseCount(s)
		if err != nil {
			return err.Error()
		}
		*p = c
	case *bool:
		s, msg := scalar(n, "true or false")
		if msg != "" {
			return msg
		}
		b, err := ParseBool(s)
		if err != nil {
			return err.Error()
		}
		*p = b
	}
	return ""
}

// scalar is a scalar node's text ("" for null), or what is wrong with n when it holds a
// list or a mapping where want was expected.
func scalar(n *yaml.Node, want string) (string, string) {
	if n.Kind != yaml.ScalarNode {
		return "", "want " + want + ", not " + kindName(n)
	}
	switch n.Tag {
	case "!!null":
		return "", ""
	case "!!binary": // as yaml.v3 decodes it into a string
		b, err := base64.StdEncoding.DecodeString(n.Value)
		if err != nil {
			return "", "!!binary value is not base64"
		}
		return string(b), ""
	}
	return n.Value, ""
}

// resolve follows an alias (*name) to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 8; i++ {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping (key: value pairs)"
	case yaml.AliasNode:
		return "an alias"
	}
	return "a single value"
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxProblem turns yaml.v3's "yaml: line 3: mapping values are not allowed in this
// context" into a Problem on line 3.
func syntaxProblem(file string, err error) error {
	msg, line := err.Error(), 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	return problemf(Source{File: file, Line: line}, "", "not valid YAML: %s", msg)
}
