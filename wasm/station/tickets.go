package station

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"trustforge/internal/apiwire"
	"trustforge/internal/usererr"
	"trustforge/wasm/client"
)

// ErrRefused reports a board the station refused without writing to it:
// the order's authorised count is reached, the order is closed, or the
// board is already provisioned and locked.
var ErrRefused = usererr.New("station", "refused")

// Tickets gives the station a signed production ticket before each
// device.
type Tickets interface {
	// Take returns the signed ticket to build device (its id, hex) and
	// the number of devices the order still allows after it. A refusal
	// by the server wraps ErrRefused and says why.
	Take(ctx context.Context, device string) (ticket []byte, remaining int, err error)
}

// Online takes each ticket from the release server as the board is
// presented, bound to the board's id.
type Online struct {
	// API is the release server's client, signed in as the station.
	API *client.Client
	// Package is the package's id.
	Package string
}

// Take asks the server for device's ticket. A request whose answer is
// lost is sent again: the server hands a device's ticket out once, and
// the same ticket again when asked again.
func (o *Online) Take(ctx context.Context, device string) ([]byte, int, error) {
	var t client.Tickets
	err := retry(ctx, func() (err error) {
		t, err = o.API.TakeTicket(ctx, o.Package, device)
		return err
	})
	if err != nil {
		return nil, 0, refusal(err)
	}
	if len(t.Tickets) != 1 {
		return nil, 0, usererr.Errorf("station", "the server answered %d tickets for one device", len(t.Tickets))
	}
	return t.Tickets[0].Signed, t.Remaining, nil
}

// attempts is how many times a ticket request is sent while its answer is
// lost: the server unreachable, or failing, as an instance behind a load
// balancer does when it goes down under the request.
const attempts = 3

// retry calls fn, which must be safe to repeat, until the server answers
// it (a refusal included), attempts are used up or ctx is done, waiting a
// little longer before each attempt.
func retry(ctx context.Context, fn func() error) error {
	var err error
	for i := range attempts {
		if i > 0 {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(time.Duration(i) * 250 * time.Millisecond):
			}
		}
		err = fn()
		var e *client.Error
		if err == nil || errors.As(err, &e) && e.Status < 500 || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// refusal turns the server's refusals into ErrRefused.
func refusal(err error) error {
	var e *client.Error
	if errors.As(err, &e) && (errors.Is(e, apiwire.CodeCountReached) || errors.Is(e, apiwire.CodeOrderClosed)) {
		return usererr.Errorf("", "%w: %s", ErrRefused, e.Message)
	}
	return err
}

// MaxBlock is the largest block of tickets the server hands out at once.
const MaxBlock = 16

// Block holds tickets fetched ahead, for a station that works offline:
// Fetch takes a bounded block from the server while it is reachable, and
// Take uses them first (each is bound to the first device registered with
// it), then asks the server online.
type Block struct {
	// Online takes tickets once the block is used up; nil means none.
	Online *Online

	mu        sync.Mutex
	tickets   [][]byte
	remaining int
}

// Fetch takes n (1 to MaxBlock) unbound tickets from the server.
func (b *Block) Fetch(ctx context.Context, n int) error {
	if b.Online == nil {
		return usererr.New("station", "no server to fetch tickets from")
	}
	if n < 1 || n > MaxBlock {
		return usererr.Errorf("station", "a block of %d tickets (1 to %d)", n, MaxBlock)
	}
	// The block's name lets a request whose answer was lost be sent
	// again without taking a second block.
	var name [16]byte
	if _, err := rand.Read(name[:]); err != nil {
		return usererr.Errorf("station", "%w", err)
	}
	var t client.Tickets
	err := retry(ctx, func() (err error) {
		t, err = b.Online.API.TakeTickets(ctx, b.Online.Package, n, hex.EncodeToString(name[:]))
		return err
	})
	if err != nil {
		return refusal(err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, tk := range t.Tickets {
		b.tickets = append(b.tickets, tk.Signed)
	}
	b.remaining = t.Remaining
	return nil
}

// Held returns the number of tickets fetched and not yet used.
func (b *Block) Held() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.tickets)
}

// Take uses a fetched ticket, or asks the server when none is left.
func (b *Block) Take(ctx context.Context, device string) ([]byte, int, error) {
	b.mu.Lock()
	if len(b.tickets) > 0 {
		t := b.tickets[0]
		b.tickets = b.tickets[1:]
		left := len(b.tickets) + b.remaining
		b.mu.Unlock()
		return t, left, nil
	}
	b.mu.Unlock()
	if b.Online == nil {
		return nil, 0, usererr.Errorf("", "%w: no ticket left in the block and no server to ask", ErrRefused)
	}
	return b.Online.Take(ctx, device)
}
