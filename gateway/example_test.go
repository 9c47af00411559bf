package gateway_test

import (
	"fmt"
	"net/url"

	"github.com/portcullis/portcullis/gateway"
)

func ExampleClassify() {
	for _, raw := range []string{
		"/v2/library/alpine/manifests/latest",
		"/v2/dst/blobs/uploads/?mount=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef&from=src",
		"/v2/library%2Falpine/manifests/latest",
	} {
		u, _ := url.ParseRequestURI(raw)
		method := "GET"
		if u.RawQuery != "" {
			method = "POST"
		}
		rt, err := gateway.Classify(method, u)
		if err != nil {
			fmt.Println("refused:", err)
			continue
		}
		fmt.Println(rt.Kind, rt.Name, rt.Access)
	}
	// Output:
	// manifest library/alpine [{repository library/alpine [pull]}]
	// uploads dst [{repository dst [pull push]} {repository src [pull]}]
	// refused: NAME_INVALID: percent-escapes are not allowed in the path
}
