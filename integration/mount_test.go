package integration

import (
	"net/http"
	"testing"
)

// TestMountStripping checks cross-repository mounts under the scoped policy: a mount from
// a repository the caller may not pull goes on as a plain upload (202, never 201) and does
// not link the blob into the target; a permitted mount answers 201 and links it.
func TestMountStripping(t *testing.T) {
	s := newStack(t, mustLoad(t, scopedPolicy), nil)
	img := seedImage(t, s, "payments/base", "public/base")
	s.seen.take()
	layer := img.Layer

	tests := []struct {
		name   string
		user   string
		target string
		query  string
		want   int  // status
		linked bool // the layer is in target afterwards
	}{
		{"source not pullable", reader, "alice/a1", "?mount=" + layer + "&from=payments/base", http.StatusAccepted, false},
		{"source not pullable, from first", reader, "alice/a2", "?from=payments/base&mount=" + layer, http.StatusAccepted, false},
		{"no from", reader, "alice/a3", "?mount=" + layer, http.StatusAccepted, false},
		{"no mount", reader, "alice/a4", "?from=payments/base", http.StatusAccepted, false},
		{"source pullable", reader, "alice/a5", "?mount=" + layer + "&from=public/base", http.StatusCreated, true},
		{"team member from team namespace", member, "bob/b1", "?mount=" + layer + "&from=payments/base", http.StatusCreated, true},
		{"team member into team namespace", member, "payments/b2", "?mount=" + layer + "&from=public/base", http.StatusCreated, true},
		{"admin from anywhere", admin, "root/c1", "?mount=" + layer + "&from=payments/base", http.StatusCreated, true},
		{"target not pushable", reader, "payments/a6", "?mount=" + layer + "&from=public/base", http.StatusForbidden, false},
		{"repeated from", reader, "alice/a7", "?mount=" + layer + "&from=public/base&from=payments/base", http.StatusBadRequest, false},
		{"anonymous", anon, "public/d1", "?mount=" + layer + "&from=public/base", http.StatusUnauthorized, false},
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
				if q := reached[0].URL.Query(); q.Has("mount") || q.Has("from") {
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
			h := call(t, anon, http.MethodHead, s.Bare+"/v2/"+tt.target+"/blobs/"+layer, nil, nil)
			if linked := h.Status == http.StatusOK; linked != tt.linked {
				t.Errorf("after the mount, layer linked into %s = %v (HEAD %d), want %v", tt.target, linked, h.Status, tt.linked)
			}
		})
	}
}
