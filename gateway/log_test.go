package gateway

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAccessLogLine(t *testing.T) {
	h, logs := newTestGateway(t, &echoBackend{}, onlyAlice())
	r := basic(httptest.NewRequestWithContext(t.Context(), "GET", "/v2/other/manifests/latest?token=s3cr3t", nil), "alice")
	r.RemoteAddr = "198.51.100.7:5555"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var line map[string]any
	for l := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(l, `"msg":"request"`) {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := map[string]any{
		"request_id": w.Header().Get("X-Request-Id"), "client_ip": "198.51.100.7", "principal": "alice",
		"method": "GET", "path": "/v2/other/manifests/latest", "repository": "other", "action": "pull",
		"status": float64(403), "kind": "manifest",
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("log %s = %v, want %v", k, line[k], v)
		}
	}
	if !strings.Contains(line["reason"].(string), "denied: repository:other:pull") {
		t.Errorf("reason = %v", line["reason"])
	}
	if s := logs.String(); strings.Contains(s, "s3cr3t") || strings.Contains(s, "c2VjcmV0") || strings.Contains(s, "Basic ") {
		t.Fatalf("log leaks a secret: %s", s)
	}
}

func TestObserverSeesRecord(t *testing.T) {
	obs := &recorder{}
	h, _ := newTestGateway(t, NewInProcess(&echoBackend{}), onlyAlice(), func(c *Config) { c.Observers = []Observer{obs} })
	for _, uri := range []string{"/v2/team/a/blobs/" + testDigest, "/v2/x/tags/list"} {
		h.ServeHTTP(httptest.NewRecorder(), basic(httptest.NewRequestWithContext(t.Context(), "GET", uri, nil), "alice"))
	}
	if len(obs.recs) != 2 {
		t.Fatalf("%d records", len(obs.recs))
	}
	ok, denied := obs.recs[0], obs.recs[1]
	if ok.Status != 200 || ok.UpstreamStatus != 200 || ok.BytesOut != 2 || ok.Principal.Name != "alice" ||
		ok.Route.Name != "team/a" || ok.Reason != "" || ok.Outcome != OutcomeForwarded || !ok.Decided {
		t.Fatalf("allowed record: %+v", ok)
	}
	if !denied.Decided || denied.Decision.Reason != "test policy" || denied.Status != 403 || denied.UpstreamStatus != 0 ||
		denied.Reason == "" || denied.Outcome != OutcomeDenied {
		t.Fatalf("denied record: %+v", denied)
	}
}
