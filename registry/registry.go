package registry

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"

	"github.com/portcullis/portcullis/distspec"
	"github.com/portcullis/portcullis/errcode"
)

// Options configures a Registry.
type Options struct {
	// Root is the directory holding docker/registry/v2, the same directory as registry:2's
	// storage.filesystem.rootdirectory. It is created if missing.
	Root string
	// Logger receives storage failures; nil discards them.
	Logger *slog.Logger
	// MaxManifestBytes caps a manifest PUT body; 0 means 4 MiB, the size the spec says
	// registries should accept at least.
	MaxManifestBytes int64
}

// Registry serves the OCI distribution API over a registry:2 filesystem layout.
type Registry struct {
	fs          layout
	log         *slog.Logger
	maxManifest int64
	sessions    keyedMutex // one request at a time per upload session
	cache       *readCache // links and manifests on the read path
}

var _ http.Handler = (*Registry)(nil)

// New returns a Registry serving the layout under opts.Root.
func New(opts Options) (*Registry, error) {
	if opts.Root == "" {
		return nil, errors.New("registry: Options.Root is required")
	}
	l := newLayout(opts.Root)
	for _, d := range []string{l.blobsDir(), l.reposDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("registry: creating %s: %w", d, err)
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	maxM := opts.MaxManifestBytes
	if maxM <= 0 {
		maxM = 4 << 20
	}
	return &Registry{fs: l, log: log, maxManifest: maxM, cache: newReadCache()}, nil
}

// ServeHTTP routes with ParseRoute and serves the endpoint; every error is written in the
// spec's JSON envelope.
func (reg *Registry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	// Browsers must take every answer for the type it says (issue 12): never sniff a blob
	// or manifest into a page.
	w.Header().Set("X-Content-Type-Options", "nosniff")
	rt, err := ParseRoute(r.Method, r.URL)
	if err != nil {
		reg.writeError(w, r, err)
		return
	}
	var herr error
	switch rt.Kind {
	case distspec.KindBase:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "2")
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write([]byte("{}"))
		}
	case distspec.KindCatalog:
		herr = reg.serveCatalog(w, r)
	case distspec.KindTags:
		herr = reg.serveTags(w, r, rt)
	case distspec.KindManifest:
		herr = reg.serveManifest(w, r, rt)
	case distspec.KindBlob:
		herr = reg.serveBlob(w, r, rt)
	case distspec.KindUploads:
		herr = reg.startUpload(w, r, rt)
	case distspec.KindUpload:
		herr = reg.serveUpload(w, r, rt)
	case distspec.KindReferrers:
		herr = reg.serveReferrers(w, r, rt)
	}
	if herr != nil {
		reg.writeError(w, r, herr)
	}
}

// errNoSpace answers a request the storage had no room for: 507 Insufficient Storage
// (RFC 4918), in the envelope, saying what happened and that nothing was kept.
var errNoSpace = errcode.New(errcode.Unavailable,
	"registry storage is full: no space left on device; nothing of this request was kept, retry once space is freed").
	WithStatus(http.StatusInsufficientStorage)

// writeError writes err in the envelope: an *errcode.Error as it is, a full disk as
// errNoSpace, anything else as UNKNOWN/500, with the cause logged and not shown.
func (reg *Registry) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *errcode.Error
	switch {
	case errors.As(err, &e):
	case isNoSpace(err):
		e = errNoSpace.Wrap(err)
		file := reg.fs.base
		var pe *fs.PathError
		if errors.As(err, &pe) {
			file = pe.Path
		}
		free, _ := freeBytes(reg.fs.base)
		reg.log.ErrorContext(r.Context(), "registry storage is full",
			"method", r.Method, "path", r.URL.Path, "file", file, "free_bytes", free, "error", err)
		errcode.Write(w, r, e)
		return
	default:
		e = errcode.New(errcode.Unknown, "internal storage error").Wrap(err)
	}
	if e.HTTPStatus() >= 500 {
		reg.log.ErrorContext(r.Context(), "registry request failed",
			"method", r.Method, "path", r.URL.Path, "error", err)
	}
	errcode.Write(w, r, e)
}
