package ui

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/reference"
)

// Manifest media types the pages tell apart.
const (
	mtOCIIndex       = "application/vnd.oci.image.index.v1+json"
	mtOCIManifest    = "application/vnd.oci.image.manifest.v1+json"
	mtDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	mtDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
)

// descriptor is an OCI content descriptor, as pushed: every string in it is the pusher's.
type descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	Platform     *platform         `json:"platform,omitempty"`
}

type platform struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant,omitempty"`
}

func (p *platform) String() string {
	if p == nil {
		return "unknown"
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// rawManifest reads an image manifest and an index alike.
type rawManifest struct {
	MediaType    string            `json:"mediaType"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Config       *descriptor       `json:"config,omitempty"`
	Layers       []descriptor      `json:"layers,omitempty"`
	Manifests    []descriptor      `json:"manifests,omitempty"`
	Subject      *descriptor       `json:"subject,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// imageConfig is the part of an image config the pages show.
type imageConfig struct {
	Created      string `json:"created"`
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant"`
}

// manifestInfo is what a page knows of one manifest.
type manifestInfo struct {
	Digest    string
	MediaType string
	Size      int64 // the manifest's own bytes
	Total     int64 // manifest, config and layers; for an index, every child's total too
	IsIndex   bool
	Raw       rawManifest
	Config    *imageConfig
	Created   string
	Platforms string // "linux/amd64, linux/arm64" for an index
	Children  []childInfo
}

type childInfo struct {
	Platform string
	Digest   string
	Link     string // "" when the digest is not one (a hostile index)
	Size     int64
}

// maxChildren bounds the children of an index whose sizes are looked up.
const maxChildren = 64

// describe fetches the manifest name:ref and what the pages show of it: its config
// (created, platform) for an image; each child's platform and total size for an index.
func describe(ctx context.Context, a *api, name, ref string) (manifestInfo, error) {
	raw, mt, dgst, err := a.manifest(ctx, name, ref)
	if err != nil {
		return manifestInfo{}, err
	}
	var m rawManifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return manifestInfo{}, errNotFound // not a manifest the pages can read
	}
	if mt == "" {
		mt = m.MediaType
	}
	mt, _, _ = strings.Cut(mt, ";")
	info := manifestInfo{Digest: dgst, MediaType: mt, Size: int64(len(raw)), Total: int64(len(raw)), Raw: m}
	info.IsIndex = mt == mtOCIIndex || mt == mtDockerList || (m.Config == nil && len(m.Manifests) > 0)
	if info.IsIndex {
		var plats []string
		for i, c := range m.Manifests {
			ci := childInfo{Platform: c.Platform.String(), Digest: c.Digest, Size: c.Size}
			if reference.ValidDigest(c.Digest) {
				ci.Link = manifestLink(name, c.Digest)
			}
			if c.Platform != nil && c.Platform.OS != "unknown" {
				plats = append(plats, ci.Platform)
			}
			total := c.Size
			if i < maxChildren && ci.Link != "" {
				if sub, err := describeImage(ctx, a, name, c.Digest); err == nil {
					total = sub.Total
				}
			}
			ci.Size = total
			info.Total += total
			info.Children = append(info.Children, ci)
		}
		info.Platforms = strings.Join(plats, ", ")
		return info, nil
	}
	fillImage(&info)
	if m.Config != nil && reference.ValidDigest(m.Config.Digest) && m.Config.Size <= maxBody && isImageConfig(m.Config.MediaType) {
		var cfg imageConfig
		if err := a.blob(ctx, name, m.Config.Digest, &cfg); err == nil {
			info.Config = &cfg
			info.Created = formatCreated(cfg.Created)
		}
	}
	return info, nil
}

// describeImage reads an image manifest for its sizes alone (an index's child).
func describeImage(ctx context.Context, a *api, name, ref string) (manifestInfo, error) {
	raw, mt, dgst, err := a.manifest(ctx, name, ref)
	if err != nil {
		return manifestInfo{}, err
	}
	var m rawManifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return manifestInfo{}, errNotFound
	}
	info := manifestInfo{Digest: dgst, MediaType: mt, Size: int64(len(raw)), Total: int64(len(raw)), Raw: m}
	fillImage(&info)
	return info, nil
}

func fillImage(info *manifestInfo) {
	if info.Raw.Config != nil {
		info.Total += max(info.Raw.Config.Size, 0)
	}
	for _, l := range info.Raw.Layers {
		info.Total += max(l.Size, 0)
	}
}

func isImageConfig(mt string) bool {
	return mt == "application/vnd.oci.image.config.v1+json" ||
		mt == "application/vnd.docker.container.image.v1+json"
}

// formatCreated shows an image's creation time in UTC, or as pushed when it is not RFC 3339.
func formatCreated(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// humanSize writes n bytes in binary units: 1.5 MiB.
func humanSize(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	f, unit := float64(n)/1024, "KiB"
	for _, u := range []string{"MiB", "GiB", "TiB"} {
		if f < 1024 {
			break
		}
		f, unit = f/1024, u
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " " + unit
}

// repoLink and manifestLink are the pages of a repository and of a manifest. Names are
// checked against the grammar before they get here ([a-z0-9._/-]), digests too; each
// segment is path-escaped all the same.
func repoLink(name string) string { return "/ui/r/" + escapeSegments(name) }

func manifestLink(name, ref string) string {
	return "/ui/m/" + escapeSegments(name) + "@" + escapeSegments(ref)
}

func escapeSegments(s string) string {
	parts := strings.Split(s, "/")
	for i, p := range parts {
		parts[i] = pathEscape(p)
	}
	return strings.Join(parts, "/")
}
