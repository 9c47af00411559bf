package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

func TestCheckUniqueKeys(t *testing.T) {
	tests := []struct {
		body string
		dup  bool // a duplicate key
		bad  bool // not one JSON value
	}{
		{body: `{}`},
		{body: `{"a":1,"b":{"a":2},"c":[{"a":1},{"a":2}]}`},
		{body: ` [1, "x", null, true, {"k": {"k": {"k": []}}}] `},
		{body: `"just a string"`},
		{body: `{"a":1,"a":1}`, dup: true},
		{body: `{"a":{"b":1,"c":2,"b":3}}`, dup: true},
		{body: `[{"x":1},{"y":[{"z":1,"z":2}]}]`, dup: true},
		{body: `{"mediaType":"x","MediaType":"y"}`, dup: true},
		{body: `{"kind":1,"\u212aind":2}`, dup: true}, // the Kelvin sign folds to k
		{body: `{"a\u0000":1,"a":2}`},
		{body: `{"a":1}{"a":1}`, bad: true},
		{body: `{"a":1} x`, bad: true},
		{body: `{"a":1`, bad: true},
		{body: `{"a" 1}`, bad: true},
		{body: `{"a":1,}`, bad: true},
		{body: ``, bad: true},
	}
	for _, tc := range tests {
		err := checkUniqueKeys([]byte(tc.body))
		switch {
		case tc.dup && !errors.Is(err, errDuplicateKey):
			t.Errorf("%s: err %v, want a duplicate key", tc.body, err)
		case tc.bad && (err == nil || errors.Is(err, errDuplicateKey)):
			t.Errorf("%s: err %v, want a syntax error", tc.body, err)
		case !tc.dup && !tc.bad && err != nil:
			t.Errorf("%s: err %v, want none", tc.body, err)
		}
	}
}

// countKeys counts the keys body's objects name, by a recursive descent of its own (a
// second reading of the same bytes to check checkUniqueKeys against).
func countKeys(t *testing.T, body []byte) int {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var value func() int
	value = func() int {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("countKeys: %v", err)
		}
		n := 0
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				if _, err := dec.Token(); err != nil { // the key
					t.Fatalf("countKeys: %v", err)
				}
				n += 1 + value()
			}
			_, _ = dec.Token()
		case json.Delim('['):
			for dec.More() {
				n += value()
			}
			_, _ = dec.Token()
		}
		return n
	}
	return value()
}

// keptKeys counts the keys of every object in a decoded value.
func keptKeys(v any) int {
	n := 0
	switch x := v.(type) {
	case map[string]any:
		n += len(x)
		for _, e := range x {
			n += keptKeys(e)
		}
	case []any:
		for _, e := range x {
			n += keptKeys(e)
		}
	}
	return n
}

// FuzzCheckUniqueKeys: checkUniqueKeys accepts exactly the bytes encoding/json accepts
// as one value, except those with a key named twice in one object; for those it accepts,
// decoding loses no key (the property a digest over the bytes relies on).
func FuzzCheckUniqueKeys(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1,"a":2}`, `{"a":{"b":[1,{"c":2,"c":3}]}}`, `[{"x":1},{"X":2}]`,
		`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":"sha256:00","size":1},"layers":[]}`,
		`{"a":1} {}`, `"\ud800"`, `{"\u212a":1,"k":2}`, `1e999`, `[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		err := checkUniqueKeys(body)
		valid := json.Valid(body)
		if err == nil && !valid {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		if err != nil && !errors.Is(err, errDuplicateKey) && valid {
			t.Fatalf("refused valid JSON %q: %v", body, err)
		}
		if err != nil {
			if !valid {
				return
			}
			v, _ := decodeAny(body)
			if errors.Is(err, errDuplicateKey) && keptKeys(v) == countKeys(t, body) && !foldCollision(body) {
				t.Fatalf("refused %q as naming a key twice, but every key survives decoding and none fold together", body)
			}
			return
		}
		// Accepted: an object decoded into a map keeps every key it names.
		v, e := decodeAny(body)
		if e != nil {
			t.Fatalf("accepted %q, which does not decode: %v", body, e)
		}
		named := countKeys(t, body)
		if kept := keptKeys(v); kept != named {
			t.Fatalf("accepted %q: %d keys named, %d kept after decoding", body, named, kept)
		}
	})
}

// foldCollision reports whether some object in body names two keys that fold together.
func foldCollision(body []byte) bool {
	v, err := decodeAny(body)
	if err != nil {
		return false
	}
	var walk func(any) bool
	walk = func(v any) bool {
		switch x := v.(type) {
		case map[string]any:
			seen := map[string]bool{}
			for k, e := range x {
				if seen[foldKey(k)] || walk(e) {
					return true
				}
				seen[foldKey(k)] = true
			}
		case []any:
			for _, e := range x {
				if walk(e) {
					return true
				}
			}
		}
		return false
	}
	return walk(v)
}

// decodeAny decodes one JSON value, numbers kept as text (1e999 is valid JSON).
func decodeAny(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}
