package gateway

import (
	"net/http"
	"reflect"
	"testing"
)

// TestSetHeadersIndependent: headers set over one shared array (setHeaders) behave as
// h.Set's would: adding to or changing one leaves the others as they were.
func TestSetHeadersIndependent(t *testing.T) {
	h := http.Header{}
	vals := []string{"a", "b", "c"}
	setHeaders(h, vals, "X-One", "X-Two", "X-Three")
	h.Add("X-One", "a2")
	h.Add("X-Two", "b2")
	h.Set("X-Three", "c2")
	want := http.Header{"X-One": {"a", "a2"}, "X-Two": {"b", "b2"}, "X-Three": {"c2"}}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("headers %v, want %v", h, want)
	}
	if !reflect.DeepEqual(vals, []string{"a", "b", "c"}) {
		t.Fatalf("the shared array was written: %v", vals)
	}
}
