package gateway

import (
	"net/http"
	"strings"

	"github.com/portcullis/portcullis/access"
	"github.com/portcullis/portcullis/errcode"
)

// Search paging, as the docker CLI and the v1 search API use them.
const (
	searchDefaultN = 25
	searchMaxN     = 100
	// searchMaxResults bounds the matches one search collects.
	searchMaxResults = 10000
)

type searchResult struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

type searchBody struct {
	NumResults int            `json:"num_results"`
	Query      string         `json:"query"`
	Results    []searchResult `json:"results"`
	Page       int            `json:"page"`
	NumPages   int            `json:"num_pages"`
	PageSize   int            `json:"page_size"`
}

// serveSearch answers docker search (GET /v1/search?q=&n=&page=): the repositories the
// caller may pull whose name contains q, case-insensitively, one page of n.
func (g *gateway) serveSearch(w http.ResponseWriter, r *http.Request, req access.Request, p access.Principal) {
	q := r.URL.Query()
	n, err := parseN(q.Get("n"), searchDefaultN, searchMaxN)
	if err == nil && n == 0 {
		n = searchDefaultN
	}
	page, perr := parseN(q.Get("page"), 1, 1<<20)
	if err == nil {
		err = perr
	}
	if err != nil {
		errcode.Write(w, r, err)
		return
	}
	page = max(page, 1)
	query := q.Get("q")
	needle := strings.ToLower(query)
	var matches []string
	werr := g.walkCatalog(r, req, p, "", catalogMaxN, 0, func(name string) bool {
		if strings.Contains(name, needle) {
			matches = append(matches, name)
		}
		return len(matches) < searchMaxResults
	})
	if werr != nil {
		g.catalogError(w, r, werr)
		return
	}
	body := searchBody{
		NumResults: len(matches),
		Query:      query,
		Results:    []searchResult{},
		Page:       page,
		NumPages:   (len(matches) + n - 1) / n,
		PageSize:   n,
	}
	for _, m := range matches[min((page-1)*n, len(matches)):min(page*n, len(matches))] {
		body.Results = append(body.Results, searchResult{Name: m})
	}
	writeJSON(w, r, body)
}
