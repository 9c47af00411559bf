package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"

	"github.com/portcullis/portcullis/errcode"
)

// errorHandler answers a failed round trip as caddy's statusError does: the client went
// away -> 499, logged, nothing written; a timeout -> 504; anything else (refused, reset,
// DNS) -> 502. The cause goes to the log only.
func (up *upstream) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	s := ScopeFrom(r.Context())
	id := ""
	if s != nil {
		id = s.id
	}
	if r.Context().Err() != nil {
		if s != nil {
			s.status = statusClientClosed
		}
		up.log.LogAttrs(r.Context(), slog.LevelInfo, "client went away",
			slog.String("request_id", id), slog.Any("error", err))
		return
	}
	status, msg := http.StatusBadGateway, "upstream registry unavailable"
	if isTimeout(err) {
		status, msg = http.StatusGatewayTimeout, "upstream registry timed out"
	}
	up.log.LogAttrs(r.Context(), slog.LevelError, "upstream failed",
		slog.String("request_id", id), slog.Int("status", status), slog.Any("error", err))
	errcode.Write(w, r, errcode.New(errcode.Unavailable, msg).WithStatus(status).Wrap(err))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
