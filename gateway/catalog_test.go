package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/access"
)

// fakeCatalog serves /v2/_catalog?n=&last= over names the way registry:2 does, and
// fails the test if a sub-request carries client credentials.
type fakeCatalog struct {
	t     *testing.T
	names []string
	calls int
}

func (f *fakeCatalog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v2/_catalog" {
		http.NotFound(w, r)
		return
	}
	f.calls++
	if r.Header.Get("Authorization") != "" || r.Header.Get("Cookie") != "" {
		f.t.Errorf("catalog sub-request carries client credentials")
	}
	n, err := strconv.Atoi(r.URL.Query().Get("n"))
	if err != nil || n <= 0 {
		f.t.Errorf("sub-request n = %q", r.URL.Query().Get("n"))
		n = 100
	}
	last := r.URL.Query().Get("last")
	i := sort.SearchStrings(f.names, last)
	if i < len(f.names) && f.names[i] == last {
		i++
	}
	page := f.names[i:min(i+n, len(f.names))]
	if i+n < len(f.names) {
		w.Header().Set("Link", fmt.Sprintf(`</v2/_catalog?last=%s&n=%d>; rel="next"`, page[len(page)-1], n))
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(catalogBody{Repositories: page})
}

func manyNames(count int) []string {
	var names []string
	for i := range count {
		names = append(names, fmt.Sprintf("proj%d/repo-%04d", i%4, i))
	}
	slices.Sort(names)
	return names
}

// visibleTo lets alice pull only proj1/... repositories whose number is a multiple of 3.
func visibleTo() Authorizer {
	return grantIf(func(p access.Principal, typ, name, action string) bool {
		if p.IsAnonymous() {
			return false
		}
		if typ == access.TypeRegistry {
			return true
		}
		n, _ := strconv.Atoi(name[len(name)-4:])
		return action == access.Pull && strings.HasPrefix(name, "proj1/") && n%3 == 0
	})
}

var linkRE = regexp.MustCompile(`^</v2/_catalog\?last=([^&>]+)&n=(\d+)>; rel="next"$`)

func TestCatalogFilteredPaging(t *testing.T) {
	all := manyNames(2000)
	var want []string
	for _, n := range all {
		num, _ := strconv.Atoi(n[len(n)-4:])
		if strings.HasPrefix(n, "proj1/") && num%3 == 0 {
			want = append(want, n)
		}
	}
	for _, pageSize := range []int{1, 7, 50, 1000} {
		t.Run(fmt.Sprintf("n=%d", pageSize), func(t *testing.T) {
			backend := &fakeCatalog{t: t, names: all}
			h, _ := newTestGateway(t, NewInProcess(backend), visibleTo())
			var got []string
			next := fmt.Sprintf("/v2/_catalog?n=%d", pageSize)
			pages := 0
			for next != "" {
				pages++
				w := httptest.NewRecorder()
				h.ServeHTTP(w, basic(httptest.NewRequestWithContext(t.Context(), "GET", next, nil), "alice"))
				if w.Code != 200 {
					t.Fatalf("GET %s: %d %s", next, w.Code, w.Body)
				}
				var body catalogBody
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
					t.Fatal(err)
				}
				got = append(got, body.Repositories...)
				next = ""
				if link := w.Header().Get("Link"); link != "" {
					m := linkRE.FindStringSubmatch(link)
					if m == nil {
						t.Fatalf("Link %q", link)
					}
					if m[1] != url.QueryEscape(body.Repositories[len(body.Repositories)-1]) || m[2] != strconv.Itoa(pageSize) {
						t.Fatalf("Link %q does not continue after %q", link, body.Repositories[len(body.Repositories)-1])
					}
					if len(body.Repositories) != pageSize {
						t.Fatalf("page %d has %d names but a Link: short pages end clients' walks", pages, len(body.Repositories))
					}
					next = strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("walk returned %d names, want %d", len(got), len(want))
			}
			if wantPages := (len(want) + pageSize - 1) / pageSize; pages != wantPages {
				t.Fatalf("%d pages, want %d", pages, wantPages)
			}
		})
	}
}

func TestCatalogParameters(t *testing.T) {
	backend := &fakeCatalog{t: t, names: manyNames(30)}
	h, _ := newTestGateway(t, NewInProcess(backend), nil)
	tests := []struct {
		uri    string
		status int
		count  int
		link   bool
	}{
		{"/v2/_catalog", 200, 30, false},
		{"/v2/_catalog?n=0", 200, 0, false},
		{"/v2/_catalog?n=30", 200, 30, false},
		{"/v2/_catalog?n=29", 200, 29, true},
		{"/v2/_catalog?n=5000", 200, 30, false},
		{"/v2/_catalog?n=-1", 400, 0, false},
		{"/v2/_catalog?n=abc", 400, 0, false},
		{"/v2/_catalog?last=proj3/repo-0027", 200, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, basic(httptest.NewRequestWithContext(t.Context(), "GET", tt.uri, nil), "alice"))
			if w.Code != tt.status {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if tt.status != 200 {
				if errorCode(w.Body.String()) != "PAGINATION_NUMBER_INVALID" {
					t.Fatalf("body %s", w.Body)
				}
				return
			}
			var body catalogBody
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Repositories == nil {
				t.Fatalf("body %s: %v", w.Body, err)
			}
			if len(body.Repositories) != tt.count || (w.Header().Get("Link") != "") != tt.link {
				t.Fatalf("%d names, Link %q", len(body.Repositories), w.Header().Get("Link"))
			}
		})
	}
}

func TestCatalogBackendFailure(t *testing.T) {
	h, logs := newTestGateway(t, NewInProcess(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "disk on fire at /var/lib/registry", http.StatusInternalServerError)
	})), nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, basic(httptest.NewRequestWithContext(t.Context(), "GET", "/v2/_catalog", nil), "alice"))
	if w.Code != http.StatusBadGateway || strings.Contains(w.Body.String(), "/var/lib") || !strings.Contains(logs.String(), "catalog failed") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

func TestSearch(t *testing.T) {
	backend := &fakeCatalog{t: t, names: manyNames(600)}
	h, _ := newTestGateway(t, NewInProcess(backend), visibleTo())
	// alice sees proj1/repo-NNNN with NNNN%3==0 and NNNN%4==1: 0009, 0021, ... 50 names.
	tests := []struct {
		uri                  string
		num, pages, size, pg int
		first                string
	}{
		{"/v1/search?q=repo", 50, 2, 25, 1, "proj1/repo-0009"},
		{"/v1/search?q=REPO&n=10&page=5", 50, 5, 10, 5, "proj1/repo-0489"},
		{"/v1/search?q=repo-00&n=100", 8, 1, 100, 1, "proj1/repo-0009"},
		{"/v1/search?q=proj2", 0, 0, 25, 1, ""},
		{"/v1/search?q=repo&page=9", 50, 2, 25, 9, ""},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, basic(httptest.NewRequestWithContext(t.Context(), "GET", tt.uri, nil), "alice"))
			var body searchBody
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 200 {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			first := ""
			if len(body.Results) > 0 {
				first = body.Results[0].Name
			}
			if body.NumResults != tt.num || body.NumPages != tt.pages || body.PageSize != tt.size || body.Page != tt.pg || first != tt.first {
				t.Fatalf("got %+v", body)
			}
			if body.Query != strings.Split(strings.Split(tt.uri, "q=")[1], "&")[0] {
				t.Fatalf("query %q", body.Query)
			}
		})
	}
}
