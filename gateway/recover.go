package gateway

import (
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/portcullis/portcullis/errcode"
)

// recoverPanics is the outermost stage. It sets the headers every response carries, and
// turns a panic anywhere below into a logged stack and a 500 UNKNOWN envelope when the
// response has not started; when it has, it aborts the response (http.ErrAbortHandler),
// since a half-written body cannot be turned into an error. http.ErrAbortHandler itself
// is re-panicked untouched: it is how handlers ask net/http to abort.
func recoverPanics(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set(headerAPIVersion, apiVersion)
			hw := &headerWatch{ResponseWriter: w}
			defer func() {
				p := recover()
				if p == nil {
					return
				}
				if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(p)
				}
				log.LogAttrs(r.Context(), slog.LevelError, "panic serving request",
					slog.String("request_id", w.Header().Get(headerRequestID)),
					slog.String("method", r.Method),
					slog.String("path", logPath(r.URL.Path)),
					slog.Any("panic", p),
					slog.String("stack", string(debug.Stack())))
				if hw.started {
					panic(http.ErrAbortHandler)
				}
				id := w.Header().Get(headerRequestID)
				clear(w.Header()) // whatever the panicking handler meant to send
				w.Header().Set(headerAPIVersion, apiVersion)
				w.Header().Set(headerRequestID, id)
				errcode.Write(w, r, errcode.New(errcode.Unknown, "internal server error"))
			}()
			next.ServeHTTP(hw, r)
		})
	}
}
