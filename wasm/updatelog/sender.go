package updatelog

import (
	"context"
	"errors"

	"trustforge/devices/fwupdate"
	"trustforge/internal/apiwire"
	"trustforge/internal/usererr"
)

// ErrSignedOut is what Sender.Send returns when no session can be had: the
// records wait until someone signs in.
var ErrSignedOut = usererr.New("updatelog", "sign in to send the update records")

// Sender sends one record to the release server for Log.Sync, with the
// console's policy for sessions: a tab reloaded without network has none
// (and its API client no CSRF token), so Send asks the server for it
// first; a session the server calls stale (a CSRF refusal or a 401) is
// asked for again and the record sent once more; a record the server
// rejects as malformed (400) is a *Refusal and is not sent again. Any other
// failure leaves the record waiting for the next sync.
type Sender struct {
	// SignedIn reports whether the tab knows a session.
	SignedIn func() bool
	// Restore asks the server for the browser's session again.
	Restore func(context.Context) error
	// Record sends the record to the server.
	Record func(context.Context, *fwupdate.Record) error
	// SignedOut is returned when Restore finds no session; nil means
	// ErrSignedOut.
	SignedOut error
}

// Send sends r under the policy described on Sender.
func (s Sender) Send(ctx context.Context, r *fwupdate.Record) error {
	if !s.SignedIn() {
		if err := s.Restore(ctx); err != nil {
			return err
		}
		if !s.SignedIn() {
			if s.SignedOut != nil {
				return s.SignedOut
			}
			return ErrSignedOut
		}
	}
	err := s.Record(ctx, r)
	if staleSession(err) {
		if rerr := s.Restore(ctx); rerr == nil {
			err = s.Record(ctx, r)
		}
	}
	var apiErr *apiwire.Error
	if errors.As(err, &apiErr) && apiErr.Status == 400 {
		return &Refusal{Err: err}
	}
	return err
}

// staleSession reports whether err says the request's session is no longer
// the server's: a CSRF token it does not know, or no session at all.
func staleSession(err error) bool {
	var apiErr *apiwire.Error
	return errors.As(err, &apiErr) && (errors.Is(apiErr, apiwire.CodeCSRF) || apiErr.Status == 401)
}

// ErrOffline is what SyncWaiting returns when the browser has no network:
// the records wait in it.
var ErrOffline = usererr.New("updatelog", "no network: the records wait in this browser")

// SyncWaiting is one pass of the console's sync: when no record waits it
// does nothing and returns nil; when online reports no network it sends
// nothing and returns ErrOffline; else it sends the waiting records with
// send as [Log.Sync] does and returns what stopped it, or nil.
func (l *Log) SyncWaiting(ctx context.Context, online func() bool, send func(context.Context, *fwupdate.Record) error) error {
	if n, err := l.Waiting(ctx); err != nil || n == 0 {
		return err
	}
	if !online() {
		return ErrOffline
	}
	_, err := l.Sync(ctx, send)
	return err
}
