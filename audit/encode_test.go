package audit

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
)

// FuzzAppendEvent: the hand-written encoder writes exactly what json.Marshal writes, for
// any strings a client can send and any numbers.
func FuzzAppendEvent(f *testing.F) {
	f.Add("alice", "docker/27 <script>&", "team/app", "v1", "a\"b\\c\n\x00\x1f\x7f", int64(0), 0.0, int64(1e9))
	f.Add("\xff\xfe", "\u2028\u2029", "", "", "é€𝄞", int64(-5), 1e-7, int64(-62135596800))
	f.Add("", "", "x", "sha256:00", "\t\r\b\f", int64(1<<62), 1e21, int64(253402300799))
	f.Fuzz(func(t *testing.T, user, agent, repo, ref, reason string, n int64, d float64, sec int64) {
		ev := Event{Time: time.Unix(sec, n%1e9).UTC(), Kind: Kind(user), RequestID: ref, ClientIP: agent, UserAgent: agent,
			User: user, Auth: "basic", Account: reason, Repository: repo, Actions: []string{user, "push"}, Reference: ref,
			From: repo, Digest: ref, MediaType: agent, Method: user, Path: repo, Decision: reason, Reason: reason,
			Outcome: user, Status: int(n % 1000), BytesIn: n, BytesOut: -n, DurationMS: d, Config: agent, Error: reason}
		if n%3 == 0 {
			ev.Actions = nil
		}
		want, werr := json.Marshal(&ev)
		got, gerr := appendEvent(nil, &ev)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("errors differ: json %v, ours %v", werr, gerr)
		}
		if werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("\nours %s\njson %s", got, want)
		}
		if werr == nil && bytes.ContainsAny(got, "\n\r") {
			t.Fatalf("a line break in %q", got)
		}
	})
}

func TestAppendEventSpecials(t *testing.T) {
	for _, d := range []float64{math.Inf(1), math.NaN()} {
		if _, err := appendEvent(nil, &Event{Time: time.Unix(0, 0), DurationMS: d}); err == nil {
			t.Errorf("duration %v encoded", d)
		}
	}
	ev := Event{Time: time.Unix(0, 0).UTC(), Kind: KindGC, GC: &GCSummary{BlobsRemoved: 1}}
	got, _ := appendEvent(nil, &ev)
	want, _ := json.Marshal(&ev)
	if !bytes.Equal(got, want) {
		t.Errorf("%s != %s", got, want)
	}
}
