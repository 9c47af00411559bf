package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"

	"github.com/portcullis/portcullis/errcode"
)

// response wraps the client's ResponseWriter for one request: it notes the status sent,
// the body bytes written, the Docker-Content-Digest answered, and whether the gateway
// answered for the backend (an upstream that could not be reached). It passes Flush on
// and unwraps for http.ResponseController, so streamed blobs stay streamed. Only the
// request's own goroutine writes it; the pipeline reads it when building the Record.
type response struct {
	http.ResponseWriter
	status    int // 0 until a final (>= 200) status is sent
	bytesOut  int64
	digest    string
	ownAnswer bool
	// contentType and contentLength are the response's headers of those names, as sent.
	contentType, contentLength string
	// holdFlush keeps a write's (PUT, POST, PATCH, DELETE) response in net/http's
	// buffer until ServeHTTP returns (issue 11, "nothing lost"): the Observers, the
	// audit trail among them, run before it returns, so the client cannot read a 201 for
	// a push whose record was not written. net/http sends buffered headers only when the
	// handler returns or flushes, and httputil.ReverseProxy flushes at once when the
	// upstream's answer has no Content-Length; write answers are a few bytes, so holding
	// them costs nothing.
	holdFlush bool
}

var _ http.Flusher = (*response)(nil)

func (w *response) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
		neutralizeActiveContent(w.Header(), code)
		w.noteHeaders()
	}
	w.ResponseWriter.WriteHeader(code)
}

// noteHeaders keeps what the Record reads of the headers sent: when the final status is
// sent, or, for a handler that never sends one (net/http's implicit 200), when the
// pipeline builds the Record.
func (w *response) noteHeaders() {
	h := w.Header()
	w.digest = h.Get("Docker-Content-Digest")
	w.contentType, w.contentLength = h.Get("Content-Type"), h.Get("Content-Length")
}

func (w *response) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytesOut += int64(n)
	return n, err
}

func (w *response) Flush() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.holdFlush {
		return // sent when ServeHTTP returns, after the Observers (see holdFlush)
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *response) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// answeredForBackend marks the response as the gateway's own answer on behalf of a
// backend that did not give one.
func (w *response) answeredForBackend() { w.ownAnswer = true }

// countingBody counts the request body bytes read.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

// statusClientClosed is nginx's 499: the client closed the request before the answer.
const statusClientClosed = 499

// answerError answers a request the gateway could not serve: when the client has gone
// away there is no one to answer (the Record says 499) and the cause is logged at Info;
// otherwise the cause is logged at Error with what failed and the request id, and e is
// written. The cause never reaches the client. It is the one place for "client gone or
// log and answer", for the pipeline's own failures and a backend's.
func answerError(w http.ResponseWriter, r *http.Request, log *slog.Logger, what string, e *errcode.Error, cause error) {
	if o, ok := w.(interface{ answeredForBackend() }); ok {
		o.answeredForBackend()
	}
	id := clientOf(r).id
	if r.Context().Err() != nil {
		log.LogAttrs(r.Context(), slog.LevelInfo, "client went away",
			slog.String("request_id", id), slog.String("during", what), slog.Any("error", cause))
		return
	}
	log.LogAttrs(r.Context(), slog.LevelError, what,
		slog.String("request_id", id), slog.Int("status", e.HTTPStatus()), slog.Any("error", cause))
	errcode.Write(w, r, e.Wrap(cause))
}

// internalError is the generic 500 for a technical failure.
func internalError() *errcode.Error {
	return errcode.New(errcode.Unknown, "internal server error")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
