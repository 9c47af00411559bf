package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
)

// Problem kinds Verify reports.
const (
	ProblemEdited     = "edited"
	ProblemDeleted    = "deleted"
	ProblemReordered  = "reordered"
	ProblemInserted   = "inserted"
	ProblemRecomputed = "recomputed" // a checkpoint's signature no longer matches
	ProblemIncomplete = "incomplete" // a last line without its newline
)

// Position names a line: the file and its 1-based line number.
type Position struct {
	File string
	Line int
}

func (p Position) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Problem is the first bad line Verify found.
type Problem struct {
	At      Position
	Kind    string // one of the Problem* constants
	Message string
}

func (p Problem) String() string { return fmt.Sprintf("%s: %s: %s", p.At, p.Kind, p.Message) }

// Report is what Verify found.
type Report struct {
	// Files are the files read, in chain order.
	Files []string
	// Records and Checkpoints count the lines checked; FirstSeq and LastSeq bound them.
	Records, Checkpoints int
	FirstSeq, LastSeq    uint64
	// Problem is the first bad line; nil when the chain holds.
	Problem *Problem
	// Notes are what is not a fault but limits what was proven: the chain starts after
	// seq 1 (older files not given), checkpoints not checked without a key, the last
	// records not covered by a checkpoint yet.
	Notes []string
}

// OK reports whether no problem was found.
func (r Report) OK() bool { return r.Problem == nil }

// entry is one line in chain order, with where it came from.
type entry struct {
	at   Position
	b    []byte
	hash [sha256.Size]byte
	line Line
	err  error
}

// Verify checks the chain across files (given in any order: they are ordered by their
// first sequence number) and, with pub, every checkpoint's signature. It stops at the
// first bad line and names it, and what kind of change explains it: edited, deleted,
// reordered, inserted, or, for a chain recomputed after a change, the checkpoint whose
// signature no longer matches.
func Verify(files []string, pub ed25519.PublicKey) (Report, error) {
	fls, err := readFiles(files)
	if err != nil {
		return Report{}, err
	}
	var rep Report
	var all []entry
	for _, fl := range fls {
		rep.Files = append(rep.Files, fl.name)
		for i, b := range fl.lines {
			e := entry{at: Position{File: fl.name, Line: i + 1}, b: b, hash: sha256.Sum256(b)}
			e.line, e.err = parseLine(b)
			all = append(all, e)
		}
		if fl.partial && fl.name != fls[len(fls)-1].name {
			rep.Problem = &Problem{At: Position{File: fl.name, Line: len(fl.lines)}, Kind: ProblemIncomplete,
				Message: "the file's last line has no newline, yet later files continue the chain"}
			return rep, nil
		}
	}
	if len(all) == 0 {
		rep.Notes = append(rep.Notes, "no records")
		return rep, nil
	}
	if pub == nil {
		rep.Notes = append(rep.Notes, "checkpoint signatures not checked: no public key given")
	}
	byHash := make(map[[sha256.Size]byte]int, len(all))
	for i, e := range all {
		if _, dup := byHash[e.hash]; !dup {
			byHash[e.hash] = i
		}
	}
	since, every, lastCP := 0, 0, -1
	for i, e := range all {
		if e.err != nil {
			rep.Problem = &Problem{At: e.at, Kind: ProblemEdited, Message: "not a record of the audit trail: " + e.err.Error()}
			return rep, nil
		}
		l := e.line
		if i == 0 {
			rep.FirstSeq = l.Seq
			if l.Seq != 1 {
				rep.Notes = append(rep.Notes, fmt.Sprintf("the chain starts at seq %d: the files before it were not given (rotated away?)", l.Seq))
			} else if ph, _ := l.prevHash(); ph != ([sha256.Size]byte{}) {
				rep.Problem = &Problem{At: e.at, Kind: ProblemEdited, Message: "seq 1 must start the chain (prev all zeros)"}
				return rep, nil
			}
		} else if p := classify(all, byHash, i); p != nil {
			rep.Problem = p
			return rep, nil
		}
		if l.Kind == KindCheckpoint {
			rep.Checkpoints++
			if pub != nil {
				if p := checkSignature(pub, all, i, lastCP); p != nil {
					rep.Problem = p
					return rep, nil
				}
			}
			since, every, lastCP = 0, l.Every, i
		} else {
			rep.Records++
			since++
			if every > 0 && since > every {
				rep.Problem = &Problem{At: e.at, Kind: ProblemDeleted, Message: fmt.Sprintf(
					"%d records since the checkpoint at %s, which promised one every %d: a checkpoint was removed",
					since, all[lastCP].at, every)}
				return rep, nil
			}
		}
		rep.LastSeq = l.Seq
	}
	if since > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the last %d records follow the last checkpoint: they are chained but not signed yet (the gateway is running, or stopped without a clean shutdown; the next start signs them)", since))
	}
	if fl := fls[len(fls)-1]; fl.partial {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%s: the last line has no newline and was not checked (being written, or cut short by a crash: the next start removes it)", fl.name))
	}
	return rep, nil
}

// classify checks all[i] against the line before it and, when they do not link, names
// the change that explains it.
func classify(all []entry, byHash map[[sha256.Size]byte]int, i int) *Problem {
	cur, before := all[i], all[i-1]
	want := before.line.Seq + 1
	ph, _ := cur.line.prevHash()
	linked := ph == before.hash
	if linked && cur.line.Seq == want {
		return nil
	}
	p := &Problem{At: cur.at}
	link, known := byHash[ph]
	switch {
	case linked:
		next := i+1 < len(all) && all[i+1].line.Seq == want+1
		if cur.line.Seq > want && !next {
			p.Kind = ProblemDeleted
			p.Message = fmt.Sprintf("records seq %d to %d are missing before this line, and the chain was recomputed over the gap",
				want, cur.line.Seq-1)
		} else {
			p.Kind = ProblemEdited
			p.Message = fmt.Sprintf("its seq is %d but it follows seq %d", cur.line.Seq, before.line.Seq)
		}
	case known && link > i:
		p.Kind = ProblemReordered
		p.Message = fmt.Sprintf("seq %d belongs after %s (seq %d)", cur.line.Seq, all[link].at, all[link].line.Seq)
	case i+1 < len(all) && mustPrev(all[i+1]) == before.hash:
		p.Kind = ProblemInserted
		p.Message = fmt.Sprintf("it is not part of the chain: the next line (%s) follows %s directly", all[i+1].at, before.at)
	case known && link < i-1:
		p.At = all[link+1].at
		p.Kind = ProblemInserted
		p.Message = fmt.Sprintf("it is not part of the chain: %s (seq %d) follows %s directly", cur.at, cur.line.Seq, all[link].at)
	case cur.line.Seq > want:
		p.Kind = ProblemDeleted
		if cur.line.Seq == want+1 {
			p.Message = fmt.Sprintf("record seq %d is missing before this line", want)
		} else {
			p.Message = fmt.Sprintf("records seq %d to %d are missing before this line", want, cur.line.Seq-1)
		}
	case cur.line.Seq == want:
		p.At = before.at
		p.Kind = ProblemEdited
		p.Message = fmt.Sprintf("its hash no longer matches the prev that %s recorded (or that line's prev was edited)", cur.at)
	default:
		p.Kind = ProblemInserted
		p.Message = fmt.Sprintf("seq %d repeats or goes back after seq %d, and it links to no line given", cur.line.Seq, before.line.Seq)
	}
	return p
}

func mustPrev(e entry) [sha256.Size]byte {
	h, _ := e.line.prevHash()
	return h
}

// checkSignature verifies the checkpoint all[i]; lastCP is the previous checkpoint's
// index (-1 for none).
func checkSignature(pub ed25519.PublicKey, all []entry, i, lastCP int) *Problem {
	e := all[i]
	if e.line.Key != KeyID(pub) {
		return &Problem{At: e.at, Kind: ProblemRecomputed, Message: fmt.Sprintf(
			"checkpoint seq %d is signed by key %q, not by the key given (%s)", e.line.Seq, e.line.Key, KeyID(pub))}
	}
	if err := verifyCheckpoint(pub, e.b); err != nil {
		from := "the start of the files"
		if lastCP >= 0 {
			from = all[lastCP].at.String()
		}
		return &Problem{At: e.at, Kind: ProblemRecomputed, Message: fmt.Sprintf(
			"checkpoint seq %d: %v: the records between %s and this line were changed and the chain recomputed, or the checkpoint was edited",
			e.line.Seq, err, from)}
	}
	return nil
}
