package gateway

import (
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
)

// accessLog writes one Info line per request from the RequestScope, then hands the scope
// to the Auditor, if any. It sits outside classification and authentication so refusals
// are recorded too. It logs the path without the query (queries can carry tokens) and
// never a header.
func (g *gateway) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		s := ScopeFrom(r.Context())
		ctx := r.Context()
		if s.status == 0 {
			s.status = http.StatusOK // net/http's answer to a handler that wrote nothing
		}
		if g.log.Enabled(ctx, slog.LevelInfo) {
			rt := s.route
			attrs := []slog.Attr{
				slog.String("request_id", s.id),
				slog.String("client_ip", s.clientStr),
				slog.String("principal", principalName(s)),
				slog.String("method", r.Method),
				slog.String("path", logPath(r.URL.Path)),
				slog.String("kind", string(rt.Kind)),
				slog.String("repository", rt.Name),
				slog.String("action", strings.Join(rt.Actions(), ",")),
				slog.Int("status", s.status),
				slog.Int("upstream_status", s.upstream),
				slog.Int64("bytes_in", s.bytesIn),
				slog.Int64("bytes_out", s.bytesOut),
				slog.Duration("duration", g.now().Sub(s.start)),
			}
			if s.denied != "" {
				attrs = append(attrs, slog.String("reason", s.denied))
			}
			g.log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
		}
		if g.audit != nil {
			if err := g.audit.Audit(ctx, s); err != nil {
				g.log.LogAttrs(ctx, slog.LevelError, "audit failed",
					slog.String("request_id", s.id), slog.Any("error", err))
			}
		}
	})
}

func principalName(s *RequestScope) string {
	if s.principal.IsAnonymous() {
		return "-"
	}
	return s.principal.Name
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// logPath caps what a client can put in a log line.
func logPath(p string) string {
	const max = 256
	if len(p) > max {
		return p[:max] + "..."
	}
	return p
}
