package audit

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// fileLines is one audit file as read: its lines without newlines, and whether the last
// one had none (a write cut short, or a file still being written).
type fileLines struct {
	name     string
	lines    [][]byte
	partial  bool
	firstSeq uint64 // 0 when the first line is not a record
}

// readFile reads an audit file; a name ending in .gz is decompressed (logrotate's
// compress).
func readFile(name string) (fileLines, error) {
	fl := fileLines{name: name}
	f, err := os.Open(name)
	if err != nil {
		return fl, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return fl, fmt.Errorf("%s: %w", name, err)
		}
		r = zr
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return fl, fmt.Errorf("%s: %w", name, err)
	}
	if i := bytes.LastIndexByte(data, '\n'); i < len(data)-1 {
		fl.partial = true // left out: not a line yet
		data = data[:i+1]
	}
	data = bytes.TrimSuffix(data, []byte("\n"))
	if len(data) > 0 {
		fl.lines = bytes.Split(data, []byte("\n"))
	}
	if len(fl.lines) > 0 {
		if l, err := parseLine(fl.lines[0]); err == nil {
			fl.firstSeq = l.Seq
		}
	}
	return fl, nil
}

// readFiles reads every file and orders them by the sequence number of their first line,
// so rotated files can be given in any order (audit.log.2 audit.log.1 audit.log, or a
// shell glob). Empty files are skipped.
func readFiles(names []string) ([]fileLines, error) {
	var out []fileLines
	for _, n := range names {
		fl, err := readFile(n)
		if err != nil {
			return nil, err
		}
		if len(fl.lines) > 0 {
			out = append(out, fl)
		}
	}
	slices.SortStableFunc(out, func(a, b fileLines) int {
		switch {
		case a.firstSeq < b.firstSeq:
			return -1
		case a.firstSeq > b.firstSeq:
			return 1
		}
		return 0
	})
	return out, nil
}
