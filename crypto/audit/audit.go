// Package audit implements trustforge's hash-chained audit log.
//
// Every state change on a trustforge server (a sign-in, a published, promoted
// or yanked release, a key added, a user changed) is appended as an Entry.
// Each entry commits to the hash of the one before it, so editing, removing
// or reordering any entry breaks the chain from that point on, and Verify
// reports where. Removing entries from the end of the log leaves a shorter
// but intact chain: to detect that, compare the Head a verifier returns with
// a head recorded earlier (the server records its head next to the log, and
// an operator may keep exported heads elsewhere).
//
// The package is pure Go with no system dependencies, so the console can
// verify an exported log in the browser exactly as the server does.
//
// The hash of an entry is SHA-256 over a length-prefixed binary encoding of
// the domain-separation label HashLabel, the previous entry's hash, and the
// entry's fields; it never depends on a JSON encoding.
package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"sort"
	"time"

	"trustforge/internal/usererr"
)

// HashLabel separates audit entry hashes from every other SHA-256 use in
// trustforge. A new encoding gets a new label.
const HashLabel = "trustforge/audit/v1"

// Limits on an entry's fields, so a log reader's memory stays bounded.
const (
	MaxFieldLen   = 4096 // bytes in Actor, Action, Subject, a detail key or value
	MaxDetailKeys = 64
)

// Hash is the SHA-256 hash of an entry. Its text form is lowercase hex.
type Hash [sha256.Size]byte

// String returns h in lowercase hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// MarshalText encodes h as lowercase hex.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText decodes 64 hex digits into h.
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) != 2*sha256.Size {
		return usererr.Errorf("audit", "hash must be %d hex digits, got %d", 2*sha256.Size, len(b))
	}
	if _, err := hex.Decode(h[:], b); err != nil {
		return usererr.Errorf("audit", "bad hash: %w", err)
	}
	return nil
}

// ParseHash decodes a hash in hex.
func ParseHash(s string) (Hash, error) {
	var h Hash
	err := h.UnmarshalText([]byte(s))
	return h, err
}

// Event is what happened, before it takes its place in the chain.
type Event struct {
	Time    time.Time         // when it happened; stored in UTC at nanosecond precision
	Actor   string            // who did it: a user name, or "" for the server itself
	Action  string            // what was done, e.g. "release.publish"
	Subject string            // what it was done to, e.g. a release ID
	Detail  map[string]string // anything else worth keeping; may be nil
}

// Head identifies the end of a chain: the last entry's sequence number and
// hash. The zero Head is the empty log.
type Head struct {
	Seq  uint64 `json:"seq"`
	Hash Hash   `json:"hash"`
}

// Entry is one record of the log as it is stored and exported.
type Entry struct {
	Seq     uint64            `json:"seq"`
	Time    time.Time         `json:"time"`
	Actor   string            `json:"actor"`
	Action  string            `json:"action"`
	Subject string            `json:"subject"`
	Detail  map[string]string `json:"detail,omitempty"`
	Prev    Hash              `json:"prev"`
	Hash    Hash              `json:"hash"`
}

// Next returns the entry that records ev after head.
func Next(head Head, ev Event) (Entry, error) {
	e := Entry{
		Seq:     head.Seq + 1,
		Time:    ev.Time.UTC(),
		Actor:   ev.Actor,
		Action:  ev.Action,
		Subject: ev.Subject,
		Detail:  ev.Detail,
		Prev:    head.Hash,
	}
	if err := e.checkFields(); err != nil {
		return Entry{}, err
	}
	e.Hash = e.Sum()
	return e, nil
}

// Head returns the head of a chain that ends with e.
func (e Entry) Head() Head { return Head{Seq: e.Seq, Hash: e.Hash} }

// Sum computes the hash e should carry from its other fields.
func (e Entry) Sum() Hash {
	h := sha256.New()
	var buf []byte
	buf = appendString(buf, HashLabel)
	buf = append(buf, e.Prev[:]...)
	buf = binary.BigEndian.AppendUint64(buf, e.Seq)
	buf = binary.BigEndian.AppendUint64(buf, uint64(e.Time.UnixNano()))
	buf = appendString(buf, e.Actor)
	buf = appendString(buf, e.Action)
	buf = appendString(buf, e.Subject)
	keys := make([]string, 0, len(e.Detail))
	for k := range e.Detail {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(keys)))
	for _, k := range keys {
		buf = appendString(buf, k)
		buf = appendString(buf, e.Detail[k])
	}
	h.Write(buf)
	var out Hash
	h.Sum(out[:0])
	return out
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// ErrFieldTooLong is returned for an entry whose fields exceed the limits.
var ErrFieldTooLong = usererr.New("audit", "entry field too long")

func (e Entry) checkFields() error {
	for _, s := range []string{e.Actor, e.Action, e.Subject} {
		if len(s) > MaxFieldLen {
			return ErrFieldTooLong
		}
	}
	if len(e.Detail) > MaxDetailKeys {
		return usererr.Errorf("", "%w: %d detail keys, at most %d", ErrFieldTooLong, len(e.Detail), MaxDetailKeys)
	}
	for k, v := range e.Detail {
		if len(k) > MaxFieldLen || len(v) > MaxFieldLen {
			return ErrFieldTooLong
		}
	}
	return nil
}
