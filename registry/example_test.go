package registry_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/portcullis/portcullis/registry"
)

func ExampleGC() {
	root, _ := os.MkdirTemp("", "registry")
	defer os.RemoveAll(root)
	reg, _ := registry.New(registry.Options{Root: root})
	srv := httptest.NewServer(reg)
	resp, _ := http.Post(srv.URL+"/v2/app/blobs/uploads/?digest=sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
		"application/octet-stream", strings.NewReader("hello"))
	resp.Body.Close()
	srv.Close() // GC runs while nothing serves the directory

	// A blob no manifest references is garbage.
	rep, err := registry.GC(context.Background(), root, registry.GCOptions{DryRun: true})
	fmt.Println(rep.BlobsRemoved, rep.BytesRemoved, err)
	// Output: 1 5 <nil>
}
