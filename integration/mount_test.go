package integration

import (
	"net/http"
	"strings"
	"testing"
)

// TestMountStripping checks cross-repository mounts under the scoped policy: a mount from
// a repository the caller may not pull goes on as a plain upload (202, never 201) and does
// not link the blob into the target; a permitted mount answers 201 and links it.
func TestMountStripping(t *testing.T) {
	s := newStack(t, mustLoad(t, scopedPolicy), nil)
	img := seedImage(t, s, "payments/base", "public/base")
	// hidden is in payments/base only: naming a pullable repository as the source must
	// not reach it.
	hidden := bareBlob(t, s, "payments/base", []byte("only in payments/base"))
	s.seen.take()
	layer := img.Layer

	tests := []struct {
		name   string
		user   string
		target string
		query  string
		want   int  // status
		linked bool // the layer is in target afterwards
		// pullable: the source may be pulled, so the mount is forwarded as asked
		pullable bool
	}{
		{"source not pullable", reader, "alice/a1", "?mount=" + layer + "&from=payments/base", http.StatusAccepted, false, false},
		{"source not pullable, from first", reader, "alice/a2", "?from=payments/base&mount=" + layer, http.StatusAccepted, false, false},
		{"no from", reader, "alice/a3", "?mount=" + layer, http.StatusAccepted, false, false},
		{"no mount", reader, "alice/a4", "?from=payments/base", http.StatusAccepted, false, false},
		{"source pullable", reader, "alice/a5", "?mount=" + layer + "&from=public/base", http.StatusCreated, true, false},
		{"team member from team namespace", member, "bob/b1", "?mount=" + layer + "&from=payments/base", http.StatusCreated, true, false},
		{"team member into team namespace", member, "payments/b2", "?mount=" + layer + "&from=public/base", http.StatusCreated, true, false},
		{"admin from anywhere", admin, "root/c1", "?mount=" + layer + "&from=payments/base", http.StatusCreated, true, false},
		{"target not pushable", reader, "payments/a6", "?mount=" + layer + "&from=public/base", http.StatusForbidden, false, false},
		{"pullable source lacks the blob", reader, "alice/a8", "?mount=" + hidden + "&from=public/base", http.StatusAccepted, false, true},
		{"repeated from", reader, "alice/a7", "?mount=" + layer + "&from=public/base&from=payments/base", http.StatusBadRequest, false, false},
		{"anonymous", anon, "public/d1", "?mount=" + layer + "&from=public/base", http.StatusUnauthorized, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uri := "/v2/" + tt.target + "/blobs/uploads/" + tt.query
			r := call(t, tt.user, http.MethodPost, s.URL+uri, nil, nil)
			reached := s.seen.take()
			if r.Status != tt.want {
				t.Fatalf("POST %s as %s: %d, want %d; body %s", uri, label(tt.user), r.Status, tt.want, r.Body)
			}
			switch r.Status {
			case http.StatusAccepted:
				if len(reached) != 1 {
					t.Fatalf("backend saw %d requests, want 1", len(reached))
				}
				if q := reached[0].URL.Query(); !tt.pullable && (q.Has("mount") || q.Has("from")) {
					t.Errorf("backend received %s: mount/from not stripped", reached[0].URL)
				}
				if r.Header.Get("Location") == "" {
					t.Error("202 without an upload Location")
				}
			case http.StatusCreated:
				if q := reached[0].URL.Query(); q.Get("mount") != layer {
					t.Errorf("backend received %s: permitted mount lost its query", reached[0].URL)
				}
			default:
				if len(reached) != 0 {
					t.Errorf("refused mount reached the backend as %s", reached[0].URL)
				}
			}
			// Ask the registry itself, past any gateway, whether the blob is linked.
			blob := layer
			if strings.Contains(tt.query, hidden) {
				blob = hidden
			}
			h := call(t, anon, http.MethodHead, s.Bare+"/v2/"+tt.target+"/blobs/"+blob, nil, nil)
			if linked := h.Status == http.StatusOK; linked != tt.linked {
				t.Errorf("after the mount, layer linked into %s = %v (HEAD %d), want %v", tt.target, linked, h.Status, tt.linked)
			}
		})
	}
}
