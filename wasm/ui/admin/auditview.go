package admin

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"trustforge/crypto/audit"
	"trustforge/internal/usererr"
)

// auditView is an audit log export checked in this browser: its entries
// and whether the chain is intact and reaches the head the server
// recorded.
type auditView struct {
	Entries []audit.Entry
	Head    audit.Head
	// Intact reports that every entry links to the one before and the log
	// reaches the recorded head; Status says so, or where it breaks.
	Intact bool
	Status string
}

// checkAudit reads and verifies an export (one JSON entry a line) against
// the head the server recorded when it began ("SEQ HASH").
func checkAudit(log []byte, recorded string) auditView {
	var v auditView
	var ver audit.Verifier
	r := audit.NewReader(bytes.NewReader(log))
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil {
			err = ver.Add(e)
		}
		if err != nil {
			v.Status = "Broken: " + usererr.Message(err) + ". Keep this export and investigate."
			return v
		}
		v.Entries = append(v.Entries, e)
	}
	v.Head = ver.Head()
	want, err := parseAuditHead(recorded)
	if err != nil {
		v.Status = "Unchecked: " + usererr.Message(err) + "."
		return v
	}
	if err := audit.CheckHead(v.Head, want); err != nil {
		v.Status = "Broken: " + usererr.Message(err) + "."
		return v
	}
	v.Intact = true
	v.Status = fmt.Sprintf("Intact: %d entries, each linked to the one before, up to the head the server recorded (entry %d, %s…).",
		len(v.Entries), want.Seq, want.Hash.String()[:16])
	return v
}

// parseAuditHead reads a head written as "SEQ HASH".
func parseAuditHead(s string) (audit.Head, error) {
	seq, hash, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok {
		return audit.Head{}, errors.New("the server sent no recorded head")
	}
	n, err := strconv.ParseUint(seq, 10, 64)
	if err != nil {
		return audit.Head{}, usererr.Errorf("", "the recorded head %q is malformed", s)
	}
	h, err := audit.ParseHash(hash)
	if err != nil {
		return audit.Head{}, usererr.Errorf("", "the recorded head %q is malformed", s)
	}
	return audit.Head{Seq: n, Hash: h}, nil
}

// matches reports whether an entry mentions q in its actor, action,
// subject or details (case-insensitive); an empty q matches everything.
func auditMatches(e audit.Entry, q string) bool {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" {
		return true
	}
	if strings.Contains(strings.ToLower(e.Actor+" "+e.Action+" "+e.Subject), q) {
		return true
	}
	for k, v := range e.Detail {
		if strings.Contains(strings.ToLower(k+"="+v), q) {
			return true
		}
	}
	return false
}
