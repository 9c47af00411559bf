package gateway

import (
	"mime"
	"net/http"
	"strings"

	"github.com/portcullis/portcullis/errcode"
)

// checkBody refuses a request whose body a backend could read as form parameters.
// distribution reads mount, from and digest with r.FormValue, which parses an
// application/x-www-form-urlencoded or multipart/form-data body as well as the query: a
// form body could carry a cross-repository mount the gateway never judged (the pull
// check on the source bypassed). No registry client sends forms, so they are refused on
// every route rather than stripped. The media type is read as net/http's ParseForm reads
// it (mime.ParseMediaType, case-insensitive); an unparsable one is compared leniently so
// that nothing a lax backend might take for a form gets through.
func checkBody(r *http.Request) *errcode.Error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, _, _ = strings.Cut(ct, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	if mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data" {
		return errcode.New(errcode.Unsupported, "form-encoded request bodies are not part of the registry API").
			WithStatus(http.StatusBadRequest)
	}
	return nil
}
