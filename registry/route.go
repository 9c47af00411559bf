package registry

import (
	"net/url"

	"github.com/portcullis/portcullis/distspec"
)

// Route is one reading of a request path: distspec's, the same the gateway judges by.
type Route = distspec.Route

// ParseRoute reads the request method and the decoded path u.Path with distspec.Parse
// (never RawPath: a percent-escape cannot smuggle a '/' into a name, because the name
// grammar has no '%' and the gateway refuses escapes outright, so both readings agree).
// Errors are *errcode.Error values ready to be written; distspec's doc lists them. Query
// parameters are not part of the route; handlers read the first value of each
// (url.Values.Get), except ?tag= on a manifest PUT by digest, which may repeat.
func ParseRoute(method string, u *url.URL) (Route, error) {
	return distspec.Parse(method, u.Path)
}
