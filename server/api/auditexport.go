package api

import (
	"net/http"
	"strconv"

	"trustforge/crypto/audit"
)

// AuditHeadHeader carries the audit head the server recorded when an export
// began, as "SEQ HASH"; the export reaches at least that entry.
const AuditHeadHeader = "Trustforge-Audit-Head"

func (s *Server) exportAudit(w http.ResponseWriter, r *http.Request, p *principal) error {
	var after uint64
	if a := r.URL.Query().Get("after"); a != "" {
		n, err := strconv.ParseUint(a, 10, 64)
		if err != nil {
			return badField("after", "%q is not a sequence number", a)
		}
		after = n
	}
	head, err := s.store.AuditHead(r.Context())
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-ndjson; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", `attachment; filename="trustforge-audit.jsonl"`)
	h.Set(AuditHeadHeader, strconv.FormatUint(head.Seq, 10)+" "+head.Hash.String())
	w.WriteHeader(http.StatusOK)
	aw := audit.NewWriter(w)
	// Headers are gone; an error now can only truncate the export, which
	// its verifier reports against the head above.
	s.store.AuditEntries(r.Context(), after, aw.Write)
	return nil
}
