package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// errDuplicateKey is what checkUniqueKeys returns, wrapped with the key, for an object
// that names a key twice.
var errDuplicateKey = errors.New("duplicate key")

// checkUniqueKeys reads body as exactly one JSON value and refuses it when any object, at
// any depth, names a key twice: exactly, or in two spellings encoding/json folds into one
// struct field ("mediaType" and "MediaType"). Parsers disagree about such objects (Go and
// most JavaScript keep the last value, others the first, some refuse), so the bytes a
// digest covers would mean different manifests to the registry and to a client (issue 12).
// Syntax errors are returned as they are.
func checkUniqueKeys(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // numbers are not interpreted, only skipped
	// One frame per open object or array. An object's keys are kept folded; wantKey says
	// the next token is a key.
	type frame struct {
		keys    map[string]bool // nil for an array
		wantKey bool
	}
	var stack []frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].wantKey = true
		}
	}
	for started := false; !started || len(stack) > 0; started = true {
		tok, err := dec.Token()
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
		if n := len(stack); n > 0 && stack[n-1].keys != nil && stack[n-1].wantKey {
			if tok == json.Delim('}') {
				stack = stack[:n-1]
				valueDone()
				continue
			}
			key := tok.(string) // the decoder allows nothing else here
			folded := foldKey(key)
			if stack[n-1].keys[folded] {
				return fmt.Errorf("%w %s", errDuplicateKey, quoteKey(key))
			}
			stack[n-1].keys[folded] = true
			stack[n-1].wantKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{keys: map[string]bool{}, wantKey: true})
		case json.Delim('['):
			stack = append(stack, frame{})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
	// Exactly one value: nothing but white space may follow it.
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}

// foldKey is the form under which encoding/json matches a key to a struct field: case
// folded, Unicode simple folding included (the Kelvin sign matches "k").
func foldKey(k string) string { return strings.ToLower(strings.ToUpper(k)) }

// quoteKey quotes a key for an error message, capped: it is the client's text.
func quoteKey(k string) string {
	if len(k) > 64 {
		k = k[:64] + "..."
	}
	return strconv.Quote(k)
}
