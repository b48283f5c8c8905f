package store

import (
	"context"

	"trustforge/crypto/audit"
)

// VerifyAudit walks the whole audit log, checks its hash chain, and checks
// that the chain reaches the head recorded with the last append, so an
// edited, removed or reordered entry, or entries cut from the end, are
// reported as an error wrapping audit.ErrBroken. It returns the verified head.
func VerifyAudit(ctx context.Context, l AuditLog) (audit.Head, error) {
	var v audit.Verifier
	if err := l.AuditEntries(ctx, 0, v.Add); err != nil {
		return v.Head(), err
	}
	recorded, err := l.AuditHead(ctx)
	if err != nil {
		return v.Head(), err
	}
	if err := audit.CheckHead(v.Head(), recorded); err != nil {
		return v.Head(), err
	}
	if v.Head().Seq > recorded.Seq {
		return v.Head(), &audit.ChainError{Seq: recorded.Seq + 1, Reason: "entries after the recorded head"}
	}
	return v.Head(), nil
}
