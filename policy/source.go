package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads and compiles the policy at path: a single .rego file, or a directory whose
// *.rego files (recursively; hidden entries skipped) are the modules, *_test.rego among
// them run as tests at load, and whose top-level data.json, data.yaml or data.yml is the
// base document. A policy that fails to parse, compile or pass its own tests is an error.
func Load(ctx context.Context, path string) (*Engine, error) {
	src, err := ReadSource(path)
	if err != nil {
		return nil, err
	}
	e, err := Compile(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("loading policy %s: %w", path, err)
	}
	return e, nil
}

// ReadSource reads the files of the policy at path (see Load) without compiling them.
// Module names are paths relative to the directory (or the file's base name), so compile
// errors read "team/policy.rego:12: ...".
func ReadSource(path string) (Source, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Source{}, fmt.Errorf("reading policy: %w", err)
	}
	src := Source{Modules: map[string]string{}}
	if !st.IsDir() {
		b, err := os.ReadFile(path)
		if err != nil {
			return Source{}, fmt.Errorf("reading policy: %w", err)
		}
		src.Modules[filepath.Base(path)] = string(b)
		return src, nil
	}
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != path && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !strings.HasSuffix(p, ".rego") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(path, p)
		if err != nil {
			return err
		}
		src.Modules[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		return Source{}, fmt.Errorf("reading policy directory %s: %w", path, err)
	}
	if len(src.Modules) == 0 {
		return Source{}, fmt.Errorf("reading policy directory %s: no .rego files", path)
	}
	if src.Data, err = readData(path); err != nil {
		return Source{}, err
	}
	return src, nil
}

// dataFiles are the base-document file names Load looks for, in order; at most one may exist.
var dataFiles = []string{"data.json", "data.yaml", "data.yml"}

func readData(dir string) (map[string]any, error) {
	var found []string
	var data map[string]any
	for _, name := range dataFiles {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading policy data: %w", err)
		}
		found = append(found, name)
		if strings.HasSuffix(name, ".json") {
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			err = dec.Decode(&data)
		} else {
			err = yaml.Unmarshal(b, &data)
		}
		if err != nil {
			return nil, fmt.Errorf("reading policy data %s: %w", filepath.Join(dir, name), err)
		}
	}
	if len(found) > 1 {
		sort.Strings(found)
		return nil, fmt.Errorf("reading policy data in %s: both %s; keep one", dir, strings.Join(found, " and "))
	}
	return data, nil
}
