package gateway

import (
	"io"
	"net/http"
)

// recorder writes the response status and body size into the RequestScope. It passes
// Flush on and unwraps for http.ResponseController, so streamed blobs stay streamed.
type recorder struct {
	http.ResponseWriter
	s *RequestScope
}

var (
	_ http.Flusher = (*recorder)(nil)
	_ http.Flusher = (*headerWatch)(nil)
)

func (w *recorder) WriteHeader(code int) {
	if w.s.status == 0 && code >= 200 {
		w.s.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.s.status == 0 {
		w.s.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.s.bytesOut += int64(n)
	return n, err
}

func (w *recorder) Flush() { flush(w.ResponseWriter) }

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// headerWatch notes whether the response has started, so a panic is answered with a 500
// only while that is still possible.
type headerWatch struct {
	http.ResponseWriter
	started bool
}

func (w *headerWatch) WriteHeader(code int) {
	if code >= 200 {
		w.started = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *headerWatch) Write(b []byte) (int, error) {
	w.started = true
	return w.ResponseWriter.Write(b)
}

func (w *headerWatch) Flush() { w.started = true; flush(w.ResponseWriter) }

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *headerWatch) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func flush(w http.ResponseWriter) { _ = http.NewResponseController(w).Flush() }

// countingBody counts the request body bytes read into the RequestScope.
type countingBody struct {
	io.ReadCloser
	s *RequestScope
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.s.bytesIn += int64(n)
	return n, err
}
