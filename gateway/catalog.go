package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/errcode"
)

// Catalog paging limits: distribution's default page, and the most the gateway asks of
// the backend or hands a client in one page.
const (
	catalogDefaultN = 100
	catalogMaxN     = 1000
)

// codePaginationNumberInvalid is distribution's code for a bad n.
const codePaginationNumberInvalid errcode.Code = "PAGINATION_NUMBER_INVALID"

type catalogBody struct {
	Repositories []string `json:"repositories"`
}

// serveCatalog answers GET /v2/_catalog?n=&last= with the repositories the caller may
// pull. Filtering must not shorten pages: a client stops at the first page without a
// Link, so the gateway keeps reading the backend until it has n visible names plus one
// more (which proves a next page exists and is non-empty), and only then sends Link.
func (g *gateway) serveCatalog(w http.ResponseWriter, r *http.Request, req access.Request, p access.Principal) {
	q := r.URL.Query()
	n, err := parseN(q.Get("n"), catalogDefaultN, catalogMaxN)
	if err != nil {
		errcode.Write(w, r, err)
		return
	}
	names := []string{}
	if n > 0 {
		werr := g.walkCatalog(r, req, p, q.Get("last"), min(max(n+1, catalogDefaultN), catalogMaxN), n+1, func(name string) bool {
			names = append(names, name)
			return len(names) <= n
		})
		if werr != nil {
			g.catalogError(w, r, werr)
			return
		}
	}
	if len(names) > n {
		names = names[:n]
		next := url.Values{"last": {names[n-1]}, "n": {strconv.Itoa(n)}}
		w.Header().Set("Link", fmt.Sprintf(`</v2/_catalog?%s>; rel="next"`, next.Encode()))
	}
	writeJSON(w, r, catalogBody{Repositories: names})
}

// parseN reads a page size: empty is def, larger than maxN is maxN, anything that is not
// a non-negative integer is 400 PAGINATION_NUMBER_INVALID.
func parseN(s string, def, maxN int) (int, *errcode.Error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, errcode.New(codePaginationNumberInvalid, "invalid number of results requested").
			WithStatus(http.StatusBadRequest)
	}
	return min(n, maxN), nil
}

func writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		errcode.Write(w, r, errcode.New(errcode.Unknown, "internal server error").Wrap(err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
