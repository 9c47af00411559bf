package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/portcullis/portcullis/internal/reload"
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
	names, err := sourceFiles(path)
	if err != nil {
		return Source{}, err
	}
	files := make([]reload.File, len(names))
	for i, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return Source{}, fmt.Errorf("reading policy: %w", err)
		}
		files[i] = reload.File{Path: n, Data: b}
	}
	return buildSource(path, files)
}

// sourceFiles lists the files the policy at path is read from: the file itself, or a
// directory's *.rego files (recursively, hidden entries skipped) and the top-level data
// files that exist. The reloader hashes exactly these, so any change to a module or to the
// data is a change to the policy.
func sourceFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading policy: %w", err)
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	var files []string
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
		if !d.IsDir() && strings.HasSuffix(p, ".rego") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading policy directory %s: %w", path, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("reading policy directory %s: no .rego files", path)
	}
	for _, name := range dataFiles {
		p := filepath.Join(path, name)
		if _, err := os.Stat(p); err == nil {
			files = append(files, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("reading policy data: %w", err)
		}
	}
	return files, nil
}

// dataFiles are the base-document file names Load looks for, in order; at most one may exist.
var dataFiles = []string{"data.json", "data.yaml", "data.yml"}

// buildSource makes the Source of the policy at root from its files as sourceFiles lists
// them.
func buildSource(root string, files []reload.File) (Source, error) {
	src := Source{Modules: map[string]string{}}
	if len(files) == 1 && files[0].Path == root {
		src.Modules[filepath.Base(root)] = string(files[0].Data)
		return src, nil
	}
	var found []string
	for _, f := range files {
		if !strings.HasSuffix(f.Path, ".rego") {
			found = append(found, filepath.Base(f.Path))
			data, err := parseData(f)
			if err != nil {
				return Source{}, err
			}
			src.Data = data
			continue
		}
		rel, err := filepath.Rel(root, f.Path)
		if err != nil {
			return Source{}, err
		}
		src.Modules[filepath.ToSlash(rel)] = string(f.Data)
	}
	if len(found) > 1 {
		sort.Strings(found)
		return Source{}, fmt.Errorf("reading policy data in %s: both %s; keep one", root, strings.Join(found, " and "))
	}
	return src, nil
}

// parseData reads a data.json, data.yaml or data.yml file.
func parseData(f reload.File) (map[string]any, error) {
	var data map[string]any
	var err error
	if strings.HasSuffix(f.Path, ".json") {
		dec := json.NewDecoder(bytes.NewReader(f.Data))
		dec.UseNumber()
		err = dec.Decode(&data)
	} else {
		err = yaml.Unmarshal(f.Data, &data)
	}
	if err != nil {
		return nil, fmt.Errorf("reading policy data %s: %w", f.Path, err)
	}
	return data, nil
}
