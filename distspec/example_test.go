package distspec_test

import (
	"fmt"
	"net/http"

	"github.com/portcullis/portcullis/distspec"
)

func ExampleParse() {
	for _, p := range []string{
		"/v2/team/app/manifests/v1",
		"/v2/team/app/blobs/uploads/",
		"/v2/team/App/tags/list",
		"/v2/team/app/nope",
	} {
		rt, err := distspec.Parse(http.MethodGet, p)
		fmt.Printf("%s: %+v %v\n", p, rt, err)
	}
	// Output:
	// /v2/team/app/manifests/v1: {Kind:manifest Name:team/app Reference:v1 UploadID:} <nil>
	// /v2/team/app/blobs/uploads/: {Kind:uploads Name:team/app Reference: UploadID:} UNSUPPORTED: method GET is not supported on the uploads endpoint
	// /v2/team/App/tags/list: {Kind: Name: Reference: UploadID:} NAME_INVALID: invalid repository name
	// /v2/team/app/nope: {Kind: Name: Reference: UploadID:} UNSUPPORTED: no such endpoint
}
