package gateway

import (
	"log/slog"
	"net/http"
	"strings"
)

// logRecord writes the access log's line for rec at Info: one per request, refusals
// included. It logs the path without the query (queries can carry tokens) and never a
// header.
func (g *gateway) logRecord(r *http.Request, rec *Record) {
	ctx := r.Context()
	if !g.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	attrs := []slog.Attr{
		slog.String("request_id", rec.ID),
		slog.String("client_ip", addrString(rec.ClientIP)),
		slog.String("principal", principalName(rec)),
		slog.String("method", rec.Method),
		slog.String("path", logPath(rec.Path)),
		slog.String("kind", string(rec.Route.Kind)),
		slog.String("repository", rec.Route.Name),
		slog.String("action", strings.Join(rec.Route.Actions(), ",")),
		slog.String("outcome", string(rec.Outcome)),
		slog.Int("status", rec.Status),
		slog.Int("upstream_status", rec.UpstreamStatus),
		slog.Int64("bytes_in", rec.BytesIn),
		slog.Int64("bytes_out", rec.BytesOut),
		slog.Duration("duration", rec.Duration),
	}
	if rec.Account != "" && rec.Principal.IsAnonymous() {
		attrs = append(attrs, slog.String("account", logPath(rec.Account)))
	}
	if rec.Reason != "" {
		attrs = append(attrs, slog.String("reason", rec.Reason))
	}
	g.log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
}

func principalName(rec *Record) string {
	if rec.Principal.IsAnonymous() {
		return "-"
	}
	return rec.Principal.Name
}

// logPath caps what a client can put in a log line.
func logPath(p string) string {
	const max = 256
	if len(p) > max {
		return p[:max] + "..."
	}
	return p
}
