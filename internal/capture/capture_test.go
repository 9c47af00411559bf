package capture

import (
	"errors"
	"net/http"
	"testing"
)

func TestWriter(t *testing.T) {
	for _, tc := range []struct {
		name       string
		handler    http.HandlerFunc
		status     int
		body       string
		overflow   bool
		headerSeen string
	}{
		{"nothing written", func(http.ResponseWriter, *http.Request) {}, 200, "", false, ""},
		{"body only", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("abc")) }, 200, "abc", false, ""},
		{"status and header", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-A", "1")
			w.WriteHeader(http.StatusNotFound)
			w.WriteHeader(http.StatusOK) // a second status is ignored
		}, 404, "", false, "1"},
		{"1xx ignored", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusContinue)
			w.WriteHeader(http.StatusAccepted)
		}, 202, "", false, ""},
		{"over the cap", func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte("12345"))
			if _, err := w.Write([]byte("678")); !errors.Is(err, ErrTooLarge) {
				panic("no ErrTooLarge")
			}
		}, 200, "12345", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := New(6)
			tc.handler(w, nil)
			if w.Status() != tc.status || string(w.Body()) != tc.body || w.Overflow() != tc.overflow || w.Header().Get("X-A") != tc.headerSeen {
				t.Errorf("status %d body %q overflow %v header %q", w.Status(), w.Body(), w.Overflow(), w.Header().Get("X-A"))
			}
		})
	}
}
