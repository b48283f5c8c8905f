// Package updatelog keeps the console's records of board updates in the
// browser (IndexedDB through wasm/storage) and sends them to the release
// server's audit log when the network allows: a field technician updates
// boards offline, and the records follow once the laptop is back online.
//
// A record stays in the log after it is sent, marked sent, so the
// technician can still read and save it; records are sent oldest first, and
// one that the server refuses for good is marked with the reason and not
// sent again.
package updatelog

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"

	"trustforge/devices/fwupdate"
	"trustforge/internal/usererr"
	"trustforge/wasm/storage"
)

// Entry is a record in the log.
type Entry struct {
	Record fwupdate.Record `json:"record"`
	// Sent is when the server accepted the record; zero while waiting.
	Sent time.Time `json:"sent"`
	// Refused is why the server refused the record for good; it is not
	// sent again.
	Refused string `json:"refused,omitempty"`
	// LastError is why the last attempt failed (no network, say).
	LastError string `json:"last_error,omitempty"`
}

// Pending reports whether the record still waits to be sent.
func (e Entry) Pending() bool { return e.Sent.IsZero() && e.Refused == "" }

// Log is the update log in a store.
type Log struct {
	// Store holds the log. Required.
	Store storage.Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

const prefix = "record/"

func (l *Log) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// key orders records by start time, then ID.
func key(r *fwupdate.Record) string {
	return prefix + r.Started.UTC().Format("20060102T150405.000000000Z") + "-" + r.ID
}

// Add stores a finished record, waiting to be sent.
func (l *Log) Add(ctx context.Context, r *fwupdate.Record) error {
	if err := r.Validate(); err != nil {
		return usererr.Errorf("updatelog", "%w", err)
	}
	return l.put(ctx, Entry{Record: *r})
}

func (l *Log) put(ctx context.Context, e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return usererr.Errorf("updatelog", "%w", err)
	}
	if err := l.Store.Put(ctx, key(&e.Record), b); err != nil {
		return usererr.Errorf("updatelog", "%w", err)
	}
	return nil
}

// List returns the log, newest record first.
func (l *Log) List(ctx context.Context) ([]Entry, error) {
	keys, err := l.Store.List(ctx, prefix)
	if err != nil {
		return nil, usererr.Errorf("updatelog", "%w", err)
	}
	out := make([]Entry, 0, len(keys))
	for _, k := range keys {
		b, ok, err := l.Store.Get(ctx, k)
		if err != nil {
			return nil, usererr.Errorf("updatelog", "%w", err)
		}
		if !ok {
			continue
		}
		var e Entry
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, usererr.Errorf("updatelog", "record %s is corrupt: %w", strings.TrimPrefix(k, prefix), err)
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Record.Started.After(out[j].Record.Started) })
	return out, nil
}

// Get returns the record with id.
func (l *Log) Get(ctx context.Context, id string) (Entry, bool, error) {
	all, err := l.List(ctx)
	if err != nil {
		return Entry{}, false, err
	}
	for _, e := range all {
		if e.Record.ID == id {
			return e, true, nil
		}
	}
	return Entry{}, false, nil
}

// Refusal marks an error of Send as final: the server will never accept
// the record (it is malformed, say), so it is not sent again.
type Refusal struct{ Err error }

func (r *Refusal) Error() string       { return r.Err.Error() }
func (r *Refusal) UserMessage() string { return usererr.Message(r.Err) }
func (r *Refusal) Unwrap() error       { return r.Err }

// Sync sends the records that wait, oldest first, with send, and marks
// those it accepted. It stops at the first failure that is not a *Refusal
// (no network: the rest waits for the next Sync) and returns how many it
// sent and that failure.
func (l *Log) Sync(ctx context.Context, send func(context.Context, *fwupdate.Record) error) (int, error) {
	all, err := l.List(ctx)
	if err != nil {
		return 0, err
	}
	sent := 0
	for i := len(all) - 1; i >= 0; i-- {
		e := all[i]
		if !e.Pending() {
			continue
		}
		err := send(ctx, &e.Record)
		var ref *Refusal
		switch {
		case err == nil:
			e.Sent, e.LastError = l.now().UTC(), ""
			sent++
		case errors.As(err, &ref):
			e.Refused, e.LastError = ref.Error(), ""
		default:
			e.LastError = err.Error()
			if perr := l.put(ctx, e); perr != nil {
				return sent, perr
			}
			return sent, err
		}
		if err := l.put(ctx, e); err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// Waiting returns how many records wait to be sent.
func (l *Log) Waiting(ctx context.Context) (int, error) {
	all, err := l.List(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range all {
		if e.Pending() {
			n++
		}
	}
	return n, nil
}
