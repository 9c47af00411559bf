package certs

import (
	"context"

	"github.com/portcullis/portcullis/internal/filewatch"
)

// Run watches the certificate and key until ctx is done, reloading them when they change,
// and returns nil. It watches the files' directories (internal/filewatch says why), waits
// for a writer to settle (cert and key are rarely replaced at once) and checks
// periodically for file systems without change events.
func (f *Files) Run(ctx context.Context) error {
	var lastErr string
	check := func() {
		changed, err := f.reload(false)
		if err != nil {
			if err.Error() != lastErr {
				f.logger.Error("TLS certificate reload failed; still serving the previous certificate", "err", err)
			}
			lastErr = err.Error()
		} else {
			lastErr = ""
		}
		if f.onReload != nil && (changed || err != nil) {
			f.onReload(err)
		}
	}
	filewatch.Run(ctx, filewatch.Options{
		What:     "TLS certificate",
		Dirs:     func() []string { return filewatch.FileDirs(f.certFile, f.keyFile) },
		Check:    check,
		Debounce: f.debounce,
		Poll:     f.pollEvery,
		NoEvents: f.noWatch,
		Logger:   f.logger,
	})
	return nil
}
