package admin

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"trustforge/crypto/audit"
)

// chain returns an export of n entries and its head as the server
// records it.
func chain(t *testing.T, n int) ([]byte, string, []audit.Entry) {
	t.Helper()
	var buf bytes.Buffer
	w := audit.NewWriter(&buf)
	var head audit.Head
	var es []audit.Entry
	for i := 0; i < n; i++ {
		e, err := audit.Next(head, audit.Event{Time: time.Unix(int64(1000+i), 0), Actor: "ada", Action: "user.create",
			Subject: "u" + strconv.Itoa(i), Detail: map[string]string{"roles": "engineer"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
		head = e.Head()
		es = append(es, e)
	}
	return buf.Bytes(), strconv.FormatUint(head.Seq, 10) + " " + head.Hash.String(), es
}

func TestCheckAudit(t *testing.T) {
	log, head, es := chain(t, 5)
	if v := checkAudit(log, head); !v.Intact || len(v.Entries) != 5 || !strings.HasPrefix(v.Status, "Intact: 5 entries") {
		t.Errorf("intact log: %+v", v)
	}
	// The server recorded a later head than the export reaches: entries
	// were cut from the end.
	_, later, _ := chain(t, 6)
	if v := checkAudit(log, later); v.Intact || !strings.Contains(v.Status, "entries removed from the end") {
		t.Errorf("truncated log: intact %v, status %q", v.Intact, v.Status)
	}
	// An edited entry.
	edited := bytes.Replace(log, []byte(`"u2"`), []byte(`"u9"`), 1)
	if v := checkAudit(edited, head); v.Intact || !strings.Contains(v.Status, "entry 3") {
		t.Errorf("edited log: intact %v, status %q", v.Intact, v.Status)
	}
	if v := checkAudit(log, ""); v.Intact || !strings.Contains(v.Status, "no recorded head") {
		t.Errorf("no head: %+v", v.Status)
	}
	if v := checkAudit(nil, "0 "+strings.Repeat("00", 32)); !v.Intact || len(v.Entries) != 0 {
		t.Errorf("empty log: %+v", v)
	}
	if !auditMatches(es[2], "U2") || !auditMatches(es[0], "roles=eng") || auditMatches(es[0], "station") || !auditMatches(es[0], " ") {
		t.Error("auditMatches")
	}
}
