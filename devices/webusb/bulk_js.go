//go:build js && wasm

package webusb

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"trustforge/internal/usererr"
)

// bulkRead is how much each IN transfer asks for: large, so that a fast
// device is read in few transfers (each crosses from JavaScript into Go).
const bulkRead = 16 << 10

// Bulk is a byte stream over a bulk endpoint pair of a claimed interface. It
// satisfies smp.Transport.
type Bulk struct {
	dev     *Device
	iface   uint8
	in, out Endpoint
	chunks  chan []byte
	done    chan struct{}
	stop    context.CancelFunc

	mu   sync.Mutex
	err  error
	rest []byte
	wmu  sync.Mutex
}

// OpenBulk opens d (when it is not open), selects its first configuration
// (when none is), claims the first vendor interface with a bulk endpoint
// pair and starts reading from it.
func OpenBulk(ctx context.Context, d *Device) (*Bulk, error) {
	if !d.Opened() {
		if err := d.Open(ctx); err != nil {
			return nil, err
		}
	}
	if d.Configuration() == 0 {
		if len(d.info.Configurations) == 0 {
			return nil, ErrNoInterface
		}
		if err := d.SelectConfiguration(ctx, d.info.Configurations[0].Value); err != nil {
			return nil, err
		}
	}
	var cfg Configuration
	for _, c := range readInfo(d.v).Configurations {
		if c.Value == d.Configuration() {
			cfg = c
		}
	}
	it, in, out, err := FindBulk(cfg)
	if err != nil {
		return nil, err
	}
	if err := d.ClaimInterface(ctx, it.Number); err != nil {
		return nil, err
	}
	rctx, stop := context.WithCancel(context.Background())
	b := &Bulk{dev: d, iface: it.Number, in: in, out: out, chunks: make(chan []byte, 64), done: make(chan struct{}), stop: stop}
	go b.readLoop(rctx)
	return b, nil
}

func (b *Bulk) readLoop(ctx context.Context) {
	defer close(b.done)
	defer close(b.chunks)
	fail := func(err error) {
		b.mu.Lock()
		if b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
	}
	for {
		data, err := b.dev.TransferIn(ctx, b.in.Number, bulkRead)
		switch {
		case errors.Is(err, ErrStall):
			if err := b.dev.ClearHalt(ctx, In, b.in.Number); err != nil {
				fail(err)
				return
			}
			continue
		case err != nil:
			if ctx.Err() != nil {
				fail(io.ErrClosedPipe)
			} else {
				fail(err)
			}
			return
		case len(data) == 0:
			continue
		}
		select {
		case b.chunks <- data:
		case <-ctx.Done():
			fail(io.ErrClosedPipe)
			return
		}
	}
}

// Read reads bytes the device sent, waiting for at least one.
func (b *Bulk) Read(ctx context.Context, p []byte) (int, error) {
	b.mu.Lock()
	rest := b.rest
	b.mu.Unlock()
	if len(rest) == 0 {
		select {
		case c, ok := <-b.chunks:
			if !ok {
				b.mu.Lock()
				defer b.mu.Unlock()
				return 0, b.err
			}
			rest = c
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	n := copy(p, rest)
	b.mu.Lock()
	b.rest = rest[n:]
	b.mu.Unlock()
	return n, nil
}

// Write sends p to the device, ending with a zero-length packet when p
// fills its last packet exactly, so the device sees the transfer end.
func (b *Bulk) Write(ctx context.Context, p []byte) (int, error) {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	n, err := b.dev.TransferOut(ctx, b.out.Number, p)
	if err != nil {
		return n, err
	}
	if n != len(p) {
		return n, usererr.Errorf("webusb", "bulk out: %d of %d bytes sent", n, len(p))
	}
	if b.out.PacketSize > 0 && len(p)%b.out.PacketSize == 0 {
		if _, err := b.dev.TransferOut(ctx, b.out.Number, nil); err != nil {
			return n, err
		}
	}
	return n, nil
}

// Close releases the interface, which ends the pending read, and closes the
// device.
func (b *Bulk) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	b.stop()
	err := b.dev.ReleaseInterface(ctx, b.iface)
	select {
	case <-b.done:
	case <-ctx.Done():
	}
	if cerr := b.dev.Close(ctx); err == nil {
		err = cerr
	}
	if errors.Is(err, errs.Disconnected) {
		return nil
	}
	return err
}
