package registry

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// linkedDigests lists the digests linked under dir/<alg>/<hex>/link.
func linkedDigests(dir string) ([]digest, error) {
	named, err := digestDirs(dir)
	if err != nil {
		return nil, err
	}
	out := make([]digest, 0, len(named))
	for _, n := range named {
		d, err := readLink(filepath.Join(dir, string(n.alg), n.hex, "link"))
		if isNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func (g *collector) markRepo(name string) error {
	revs, err := linkedDigests(g.l.revisionsDir(name))
	if err != nil {
		return err
	}
	roots := revs
	if g.untagged {
		if roots, err = g.taggedDigests(name); err != nil {
			return err
		}
	}
	live := map[digest]bool{}
	queue := roots
	for len(queue) > 0 {
		d := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if live[d] {
			continue
		}
		live[d] = true
		links, err := g.manifest(d)
		if err != nil {
			return err
		}
		g.marked[d] = true
		for _, b := range links.blobs {
			g.marked[b] = true
		}
		queue = append(queue, links.children...)
		if g.untagged {
			refs, err := linkedDigests(g.l.referrersDir(name, d))
			if err != nil {
				return err
			}
			queue = append(queue, refs...)
		}
	}
	dead := map[digest]bool{}
	for _, d := range revs {
		if live[d] {
			g.rep.Manifests++
		} else {
			dead[d] = true
		}
	}
	g.deadRevs[name] = dead
	return nil
}

// taggedDigests lists the manifests the repository's tags point at.
func (g *collector) taggedDigests(name string) ([]digest, error) {
	entries, err := os.ReadDir(g.l.tagsDir(name))
	if isNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []digest
	for _, e := range entries {
		d, err := readLink(g.l.tagCurrentLink(name, e.Name()))
		if isNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// manifest reads what a stored manifest references, once per digest. A manifest whose
// blob is gone references nothing.
func (g *collector) manifest(d digest) (manifestLinks, error) {
	if links, ok := g.refs[d]; ok {
		return links, nil
	}
	body, err := os.ReadFile(g.l.blobData(d))
	if isNotExist(err) {
		g.log.Warn("gc: manifest revision without its blob", "digest", d.String())
		return manifestLinks{}, nil
	}
	if err != nil {
		return manifestLinks{}, err
	}
	blobs, children, err := manifestRefs(body)
	if err != nil {
		return manifestLinks{}, fmt.Errorf("manifest %s: %w", d, err)
	}
	links := manifestLinks{blobs, children}
	g.refs[d] = links
	return links, nil
}

// manifestRefs reads the blobs (config, layers, schema 1 fsLayers) and child manifests a
// stored manifest references. Digests of algorithms the registry does not support are an
// error: GC cannot tell their blobs apart, so it must not sweep.
func manifestRefs(body []byte) (blobs, children []digest, err error) {
	var m struct {
		manifest
		FSLayers []struct {
			BlobSum string `json:"blobSum"`
		} `json:"fsLayers"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, nil, fmt.Errorf("unreadable manifest: %w", err)
	}
	add := func(list *[]digest, s string) error {
		d, ok := parseDigest(s)
		if !ok {
			return fmt.Errorf("unsupported digest %q", s)
		}
		*list = append(*list, d)
		return nil
	}
	if m.Config != nil {
		if err := add(&blobs, m.Config.Digest); err != nil {
			return nil, nil, err
		}
	}
	for _, l := range m.Layers {
		if err := add(&blobs, l.Digest); err != nil {
			return nil, nil, err
		}
	}
	for _, l := range m.FSLayers {
		if err := add(&blobs, l.BlobSum); err != nil {
			return nil, nil, err
		}
	}
	for _, c := range m.Manifests {
		if err := add(&children, c.Digest); err != nil {
			return nil, nil, err
		}
	}
	return blobs, children, nil
}
