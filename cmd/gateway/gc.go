package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/portcullis/portcullis/audit"
	"github.com/portcullis/portcullis/registry"
)

// runGC implements `gateway gc`: mark from every tag and referrer, sweep unreferenced
// blobs, stale uploads and what crashes left of the bundled registry. Dry run unless
// --delete. With --delete it refuses to run while a gateway serves the directory
// (registry.Attach), as registry:2's own GC must run with the registry stopped.
func runGC(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var del, untagged *bool
	cfg, code := readConfig("gc", args, stdout, stderr, func(fs *flag.FlagSet) {
		del = fs.Bool("delete", false, "remove what is unreferenced (default: only report)")
		untagged = fs.Bool("untagged", false, "also remove manifests no tag reaches (directly, through an index or as a referrer)")
	})
	if code != 0 {
		return code
	}
	if cfg.Upstream != "" {
		fmt.Fprintln(stderr, "gateway gc: the upstream registry collects its own garbage; gc works on the bundled registry only")
		return 1
	}
	logger := newLogger(cfg, stderr)
	rep, err := registry.GC(ctx, registryRoot(cfg), registry.GCOptions{
		DryRun: !*del, RemoveUntagged: *untagged, Logger: logger,
		// With --delete, GC holds the directory alone (every serving gateway has it
		// attached, and GC refuses then): what a crash left goes whatever its age.
		TempMaxAge: -1,
	})
	if errors.Is(err, registry.ErrInUse) {
		fmt.Fprintf(stderr, "gateway gc: %s is in use by a running gateway; stop it first, and every other replica serving it (gc must not sweep while uploads are in flight)\n", registryRoot(cfg))
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "gateway gc: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, gcSummary(rep, !*del))
	if *del {
		ev := audit.Event{Kind: audit.KindGC, GC: &audit.GCSummary{
			Untagged: *untagged, ManifestsRemoved: rep.ManifestsRemoved, BlobsRemoved: rep.BlobsRemoved,
			BytesRemoved: rep.BytesRemoved, UploadsRemoved: rep.UploadsRemoved,
			UploadBytesRemoved: rep.UploadBytesRemoved, Repositories: rep.Repositories,
		}}
		if err := appendGC(ctx, cfg, ev, stderr); err != nil {
			fmt.Fprintf(stderr, "gateway gc: recording the collection in the audit trail: %v\n", err)
			return 1
		}
	}
	return 0
}

func gcSummary(rep registry.GCReport, dry bool) string {
	verb := "removed"
	if dry {
		verb = "would remove (dry run; pass --delete to remove)"
	}
	return fmt.Sprintf("%s: %d manifests, %d blobs (%d bytes), %d uploads (%d bytes), %d temporary files and %d empty directories left by crashes; kept %d blobs (%d bytes) of %d manifests in %d repositories",
		verb, rep.ManifestsRemoved, rep.BlobsRemoved, rep.BytesRemoved, rep.UploadsRemoved, rep.UploadBytesRemoved,
		rep.TempFilesRemoved, rep.EmptyDirsRemoved,
		rep.BlobsKept, rep.BytesKept, rep.Manifests, rep.Repositories)
}
