package ui

import (
	"crypto/ed25519"
	"errors"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/portcullis/portcullis/audit"
)

// maxAuditRows is the most records the audit view shows, newest first.
const maxAuditRows = 500

type auditData struct {
	User, Repository, Action, Since, Until string
	Denied                                 bool
	Records                                []auditRow
	More                                   bool
	Chain                                  string
	ChainOK                                bool
	Error                                  string
}

type auditRow struct {
	Time, User, Action, Repository, Decision, Status, Reference string
}

// auditPage shows recent audit records matching the filter, and whether the chain
// holds. Only for those the policy grants ui:audit:read; others get the 404 of a page
// that does not exist.
func (u *ui) auditPage(w http.ResponseWriter, r *http.Request, s session) {
	if u.cfg.Audit == nil || !u.allowed(r, s, auditResource, http.MethodGet, "/ui/audit") {
		u.fail(w, r, s, http.StatusNotFound, "page not found")
		return
	}
	q := r.URL.Query()
	d := auditData{User: q.Get("user"), Repository: q.Get("repository"), Action: q.Get("action"),
		Since: q.Get("since"), Until: q.Get("until"), Denied: q.Get("denied") != ""}
	f := audit.Filter{User: d.User, Repo: d.Repository, Action: d.Action, Denied: d.Denied}
	var until time.Time
	var err error
	if d.Since != "" {
		if f.Since, err = parseTime(d.Since); err != nil {
			d.Error = "since: " + err.Error()
		}
	}
	if d.Until != "" {
		if until, err = parseTime(d.Until); err != nil {
			d.Error = "until: " + err.Error()
		}
	}
	files := u.cfg.Audit.Files()
	if len(files) == 0 {
		d.Chain = "no audit log file to read (the trail goes to stdout or remote sinks only)"
		u.render(w, r, s, http.StatusOK, "audit", "Audit", d)
		return
	}
	if d.Error == "" {
		// A ring of the newest maxAuditRows+1 matches: Query reads in chain order.
		ring := make([]audit.Line, 0, maxAuditRows+1)
		err := audit.Query(files, f, func(l audit.Line, _ []byte) error {
			if !until.IsZero() && l.Time.After(until) {
				return nil
			}
			if len(ring) == maxAuditRows+1 {
				copy(ring, ring[1:])
				ring = ring[:maxAuditRows]
			}
			ring = append(ring, l)
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			u.failErr(w, r, s, "reading the audit trail", err)
			return
		}
		if len(ring) > maxAuditRows {
			ring, d.More = ring[1:], true
		}
		slices.Reverse(ring)
		for _, l := range ring {
			row := auditRow{Time: l.Time.UTC().Format(time.RFC3339), User: l.User, Action: string(l.Kind),
				Repository: l.Repository, Decision: l.Decision, Reference: l.Reference}
			if row.User == "" {
				row.User = l.Account
			}
			if l.Status != 0 {
				row.Status = strconv.Itoa(l.Status)
			}
			d.Records = append(d.Records, row)
		}
	}
	d.Chain, d.ChainOK = u.verifyChain(files)
	u.render(w, r, s, http.StatusOK, "audit", "Audit", d)
}

// verifyChain runs audit.Verify over the files and says what it found.
func (u *ui) verifyChain(files []string) (string, bool) {
	var pub ed25519.PublicKey
	if k := u.cfg.Audit.PublicKeyFile; k != "" {
		p, err := audit.LoadPublicKey(k)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "cannot read the checkpoint key: " + err.Error(), false
		}
		pub = p
	}
	rep, err := audit.Verify(files, pub)
	if err != nil {
		return "cannot verify: " + err.Error(), false
	}
	if !rep.OK() {
		return "chain broken: " + rep.Problem.String(), false
	}
	msg := "chain verified: " + strconv.Itoa(rep.Records) + " records"
	if pub == nil {
		msg += " (checkpoint signatures not checked: no key)"
	}
	return msg, true
}

// parseTime reads a time as the form's datetime-local input sends it (UTC), a date, or RFC 3339.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("write a time such as 2026-11-30T12:00 (UTC) or RFC 3339")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
