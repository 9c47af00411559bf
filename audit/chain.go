package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Head is the chain's head: the sequence number of the last line and the SHA-256 of its
// bytes (without the newline). The zero Head is the start of a chain: the first line has
// seq 1 and a prev of 64 zeros.
type Head struct {
	Seq  uint64
	Hash [sha256.Size]byte
}

func (h Head) String() string { return fmt.Sprintf("seq %d, hash %x", h.Seq, h.Hash[:8]) }

// line builds the next line of the chain after h from an event's JSON object body
// (`{...}`): `{"v":1,"seq":N,"prev":"<hex>",` and the body's fields. It returns the line
// with its newline, and the new head.
func (h Head) line(body []byte) ([]byte, Head) {
	return h.appendLine(make([]byte, 0, len(body)+112), body)
}

// appendLine is line, appending to b.
func (h Head) appendLine(b, body []byte) ([]byte, Head) {
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, SchemaVersion, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, h.Seq+1, 10)
	b = append(b, `,"prev":"`...)
	b = hex.AppendEncode(b, h.Hash[:])
	b = append(b, `",`...)
	b = append(b, body[1:]...)
	next := Head{Seq: h.Seq + 1, Hash: sha256.Sum256(b)}
	return append(b, '\n'), next
}

// Line is one line of the trail as read back: the chain's fields, the event, and a
// checkpoint's fields when Kind is KindCheckpoint.
type Line struct {
	V    int    `json:"v"`
	Seq  uint64 `json:"seq"`
	Prev string `json:"prev"`
	Event
	Checkpoint
}

// Checkpoint holds the fields only a checkpoint line has (its Reason is Event.Reason:
// start, interval, rotation, reopen, recovered or shutdown).
type Checkpoint struct {
	// Every is the interval, in records, at which checkpoints are written.
	Every int `json:"every,omitempty"`
	// Dropped counts the events since the previous checkpoint that never joined the
	// chain: the file could not take them and the memory bound was reached.
	Dropped uint64 `json:"dropped,omitempty"`
	// Key identifies the signing key (KeyID); Sig is the Ed25519 signature, base64, over
	// the line as it reads without it.
	Key string `json:"key,omitempty"`
	Sig string `json:"sig,omitempty"`
}

// errNotRecord is a line that does not parse as a record of the trail.
var errNotRecord = errors.New("not a record of the audit trail")

// parseLine reads one line (without its newline).
func parseLine(b []byte) (Line, error) {
	var l Line
	if len(b) == 0 || b[0] != '{' {
		return l, errNotRecord
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return l, fmt.Errorf("%w: %v", errNotRecord, err)
	}
	if l.V < 1 || l.Seq == 0 || len(l.Prev) != 2*sha256.Size || l.Kind == "" {
		return l, errNotRecord
	}
	return l, nil
}

// prevHash decodes l.Prev.
func (l Line) prevHash() (h [sha256.Size]byte, ok bool) {
	n, err := hex.Decode(h[:], []byte(l.Prev))
	return h, err == nil && n == sha256.Size
}

// headOf returns the head a complete line (without its newline) leaves the chain at.
func headOf(b []byte) (Head, error) {
	l, err := parseLine(b)
	if err != nil {
		return Head{}, err
	}
	return Head{Seq: l.Seq, Hash: sha256.Sum256(b)}, nil
}

// lastLine returns the last complete line of data (without its newline) and the length of
// what follows it that has no newline yet (a write cut short).
func lastLine(data []byte) (line []byte, partial int) {
	end := bytes.LastIndexByte(data, '\n')
	partial = len(data) - end - 1
	if end < 0 {
		return nil, len(data)
	}
	start := bytes.LastIndexByte(data[:end], '\n') + 1
	return data[start:end], partial
}
