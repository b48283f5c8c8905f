package updatelog

import (
	"context"
	"errors"
	"testing"
	"time"

	"trustforge/devices/fwupdate"
	"trustforge/internal/apiwire"
	"trustforge/internal/usererr"
	"trustforge/wasm/storage"
)

func TestSenderPolicy(t *testing.T) {
	t.Parallel()
	csrf := &apiwire.Error{Status: 403, Code: apiwire.CodeCSRF, Message: "bad token"}
	unauth := &apiwire.Error{Status: 401, Code: "unauthorized", Message: "sign in"}
	bad := &apiwire.Error{Status: 400, Code: "bad_request", Message: "no such device"}
	down := &apiwire.Error{Status: 503, Code: "unavailable", Message: "busy"}
	netErr := usererr.New("fetch", "network error")
	restoreErr := usererr.New("fetch", "offline")
	custom := errors.New("sign in first")

	tests := []struct {
		name       string
		signedIn   bool
		restoreOK  bool // Restore succeeds
		restoreIn  bool // and leaves the tab signed in
		answers    []error
		signedOut  error
		want       error // errors.Is target; nil for success
		refusal    bool
		wantSends  int
		wantRestor int
	}{
		{name: "sent", signedIn: true, answers: []error{nil}, wantSends: 1},
		{name: "session restored first", restoreOK: true, restoreIn: true, answers: []error{nil}, wantSends: 1, wantRestor: 1},
		{name: "restore fails", want: restoreErr, wantRestor: 1},
		{name: "no session on the server", restoreOK: true, want: ErrSignedOut, wantRestor: 1},
		{name: "no session, caller's words", restoreOK: true, signedOut: custom, want: custom, wantRestor: 1},
		{name: "stale CSRF token retried once", signedIn: true, restoreOK: true, restoreIn: true, answers: []error{csrf, nil}, wantSends: 2, wantRestor: 1},
		{name: "401 retried once", signedIn: true, restoreOK: true, restoreIn: true, answers: []error{unauth, unauth}, want: unauth, wantSends: 2, wantRestor: 1},
		{name: "401 and restore fails", signedIn: true, answers: []error{unauth}, want: unauth, wantSends: 1, wantRestor: 1},
		{name: "400 refused for good", signedIn: true, answers: []error{bad}, want: bad, refusal: true, wantSends: 1},
		{name: "400 after a retry refused", signedIn: true, restoreOK: true, restoreIn: true, answers: []error{csrf, bad}, want: bad, refusal: true, wantSends: 2, wantRestor: 1},
		{name: "server busy waits", signedIn: true, answers: []error{down}, want: down, wantSends: 1},
		{name: "network error waits", signedIn: true, answers: []error{netErr}, want: netErr, wantSends: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			signedIn := tt.signedIn
			sends, restores := 0, 0
			s := Sender{
				SignedIn: func() bool { return signedIn },
				Restore: func(context.Context) error {
					restores++
					if !tt.restoreOK {
						return restoreErr
					}
					signedIn = tt.restoreIn
					return nil
				},
				Record: func(_ context.Context, r *fwupdate.Record) error {
					if r.ID != "rec-1" {
						t.Errorf("sent record %q, want rec-1", r.ID)
					}
					if sends >= len(tt.answers) {
						t.Fatalf("record sent %d times, the server answers %d", sends+1, len(tt.answers))
					}
					sends++
					return tt.answers[sends-1]
				},
				SignedOut: tt.signedOut,
			}
			err := s.Send(context.Background(), &fwupdate.Record{ID: "rec-1"})
			if tt.want == nil && err != nil {
				t.Fatalf("Send = %v, want nil", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Send = %v, want %v", err, tt.want)
			}
			var ref *Refusal
			if got := errors.As(err, &ref); got != tt.refusal {
				t.Errorf("Send = %v: a refusal is %v, want %v", err, got, tt.refusal)
			}
			if sends != tt.wantSends || restores != tt.wantRestor {
				t.Errorf("sent %d times and restored %d, want %d and %d", sends, restores, tt.wantSends, tt.wantRestor)
			}
		})
	}
}

// failingStore is a store whose listing fails.
type failingStore struct{ storage.Memory }

var errStore = errors.New("the store is broken")

func (*failingStore) List(context.Context, string) ([]string, error) { return nil, errStore }

func TestSyncWaiting(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	down := &apiwire.Error{Status: 503, Code: "unavailable", Message: "busy"}
	tests := []struct {
		name        string
		waiting     int
		online      bool
		broken      bool  // the log's store fails
		answer      error // of the server, to every record
		want        error // errors.Is target; nil for success
		wantSends   int
		wantWaiting int
	}{
		{name: "nothing waits", online: true},
		{name: "nothing waits, offline", want: nil},
		{name: "offline: nothing sent", waiting: 2, want: ErrOffline, wantWaiting: 2},
		{name: "online: all sent", waiting: 2, online: true, wantSends: 2},
		{name: "server busy: the rest waits", waiting: 2, online: true, answer: down, want: down, wantSends: 1, wantWaiting: 2},
		{name: "broken store", waiting: 0, online: true, broken: true, want: errStore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var st storage.Store = &storage.Memory{}
			if tt.broken {
				st = &failingStore{}
			}
			l := &Log{Store: st, Now: func() time.Time { return now }}
			for i := range tt.waiting {
				if err := l.Add(ctx, record(t, i, now.Add(time.Duration(i)*time.Hour))); err != nil {
					t.Fatal(err)
				}
			}
			sends := 0
			err := l.SyncWaiting(ctx, func() bool { return tt.online }, func(context.Context, *fwupdate.Record) error {
				sends++
				return tt.answer
			})
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("SyncWaiting = %v, want %v", err, tt.want)
			}
			if sends != tt.wantSends {
				t.Errorf("%d records sent, want %d", sends, tt.wantSends)
			}
			if tt.broken {
				return
			}
			if n, err := l.Waiting(ctx); err != nil || n != tt.wantWaiting {
				t.Errorf("%d records wait (%v), want %d", n, err, tt.wantWaiting)
			}
		})
	}
}
