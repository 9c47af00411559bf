package gateway

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/portcullis/portcullis/errcode"
)

// gateway holds the validated configuration the stages share.
type gateway struct {
	backend        http.Handler
	authn          Authenticator
	authz          Authorizer
	audit          Auditor
	log            *slog.Logger
	basicChallenge string
	trusted        trustedProxies
	tls            bool
	now            func() time.Time // Config.Now, time.Now by default
}

// New validates cfg and returns the handler for the whole server: the registry API under
// /v2/, docker search at /v1/search, and a 404 envelope for everything else.
func New(cfg Config) (http.Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	realm := cfg.Realm
	if realm == "" {
		realm = DefaultRealm
	}
	g := &gateway{
		backend:        cfg.Backend,
		authn:          cfg.Authenticator,
		authz:          cfg.Authorizer,
		audit:          cfg.Auditor,
		log:            cfg.Logger,
		basicChallenge: `Basic realm="` + realm + `"`,
		trusted:        trustedProxies(cfg.TrustedProxies),
		tls:            cfg.TLS,
		now:            cfg.Now,
	}
	if g.now == nil {
		g.now = time.Now
	}
	// The pipeline, outermost first (STYLE.md section 2).
	return chain(http.HandlerFunc(g.dispatch),
		recoverPanics(g.log), // 500 for a panic; headers every response carries
		g.newScope,           // request id, start, client address
		g.accessLog,          // one line per request, and the Auditor
		g.classify,           // endpoint, repository, actions; refuses the ambiguous (paths, form bodies)
		g.authenticate,       // principal
		g.authorize,          // decision
	), nil
}

// chain wraps h in stages so that stages[0] runs first.
func chain(h http.Handler, stages ...func(http.Handler) http.Handler) http.Handler {
	for i := len(stages) - 1; i >= 0; i-- {
		h = stages[i](h)
	}
	return h
}

// classify records the route in the scope, or refuses the request.
func (g *gateway) classify(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := ScopeFrom(r.Context())
		rt, err := Classify(r.Method, r.URL)
		s.route = rt
		if err == nil {
			if e := checkBody(r); e != nil {
				err = e
			}
		}
		if err != nil {
			e := asErrcode(err)
			s.denied = "refused: " + e.Message
			errcode.Write(w, r, e)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// dispatch serves what the gateway answers itself (catalog, search) and forwards the rest.
func (g *gateway) dispatch(w http.ResponseWriter, r *http.Request) {
	switch ScopeFrom(r.Context()).route.Kind {
	case KindCatalog:
		g.serveCatalog(w, r)
	case KindSearch:
		g.serveSearch(w, r)
	default:
		g.backend.ServeHTTP(w, r)
	}
}

func asErrcode(err error) *errcode.Error {
	var e *errcode.Error
	if errors.As(err, &e) {
		return e
	}
	return errcode.New(errcode.Unknown, "internal server error").Wrap(err)
}
