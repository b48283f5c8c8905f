package api

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"

	"trustforge/server/blob"
)

// commitBlob commits an upload's blob under a lease that keeps garbage
// collection, on any instance, from deleting it until the record that
// refers to it is stored. The lease is taken before the blob is written
// under its digest, so a collector that found an identical, unreferenced
// blob either deleted it before this commit writes it again or sees the
// lease and keeps it. Call release once the record is stored or the
// upload has failed; a lease not released (the server died) expires after
// GCGrace.
func (s *Server) commitBlob(ctx context.Context, bw blob.Writer) (release func(), err error) {
	d, _ := bw.Sum()
	var id [16]byte
	if _, err := io.ReadFull(s.cfg.Rand, id[:]); err != nil {
		return nil, fmt.Errorf("api: blob lease: %w", err)
	}
	holder := hex.EncodeToString(id[:])
	if err := s.store.LeaseBlob(ctx, d, holder, s.cfg.Now().Add(s.cfg.GCGrace)); err != nil {
		return nil, err
	}
	release = func() {
		if err := s.store.ReleaseBlob(context.WithoutCancel(ctx), d, holder); err != nil {
			fmt.Fprintf(s.cfg.Log, "trustforge: giving up a blob lease (it expires by itself): %v\n", err)
		}
	}
	if _, err := bw.Commit(ctx); err != nil {
		release()
		return nil, err
	}
	return release, nil
}
