// Package blob stores the release server's large, immutable byte strings
// (encrypted payloads and signed manifests), addressed by their SHA-256.
//
// A blob becomes visible only when its Writer commits: until then it lives
// under a temporary name, and a crash at any moment leaves either the whole
// blob or none of it. Blobs are never modified after commit, so two uploads
// of the same bytes share one blob.
//
// Store is the interface the server consumes; Dir keeps blobs in a local
// directory for one server, S3 in an S3-compatible bucket that several
// server instances share. Both pass one test suite.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"
)

// ErrNotFound is returned for a digest the store does not hold.
var ErrNotFound = errors.New("blob: not found")

// Digest is the SHA-256 of a blob's contents. Its text form is lowercase hex.
type Digest [sha256.Size]byte

// String returns d in lowercase hex.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// ParseDigest decodes a digest from 64 hex digits.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	if len(s) != 2*sha256.Size {
		return d, fmt.Errorf("blob: digest must be %d hex digits, got %d", 2*sha256.Size, len(s))
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return d, fmt.Errorf("blob: bad digest: %w", err)
	}
	return d, nil
}

// Store holds blobs by digest.
type Store interface {
	// Create starts a new blob. Nothing is visible until Commit.
	Create(ctx context.Context) (Writer, error)
	// Open returns a blob for reading, or an error wrapping ErrNotFound.
	Open(ctx context.Context, d Digest) (Object, error)
	// Delete removes a blob; deleting a missing blob is not an error.
	Delete(ctx context.Context, d Digest) error
	// Walk calls fn with the digest of every committed blob.
	Walk(ctx context.Context, fn func(Digest) error) error
}

// Writer receives a new blob's bytes.
type Writer interface {
	io.Writer
	// Sum returns the digest and size of what was written so far.
	Sum() (Digest, int64)
	// Commit makes the blob durable and visible under its digest. After a
	// crash, a blob is either wholly committed or absent.
	Commit(ctx context.Context) (Digest, error)
	// Abort discards the blob. It is safe to call after Commit, which makes
	// it a no-op, so callers may defer it.
	Abort() error
}

// Object is a committed blob opened for reading.
type Object interface {
	io.ReadSeekCloser
	// Size returns the blob's length in bytes.
	Size() int64
}

// Presigner is a Store that hands out time-limited URLs from which a
// client fetches a blob directly, without the server in the path.
type Presigner interface {
	// PresignGet returns a URL that serves blob d, which must be size
	// bytes long, until ttl has passed, with media type ctype as an
	// attachment called name; a missing blob gives an error wrapping
	// ErrNotFound.
	PresignGet(ctx context.Context, d Digest, size int64, ttl time.Duration, name, ctype string) (*url.URL, error)
}

var _ Presigner = (*S3)(nil)
