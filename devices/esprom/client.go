package esprom

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"trustforge/internal/usererr"
)

// Transport carries the serial byte stream to and from the chip. A
// devices/smp Transport, a Web Serial port and the simulator's streams all
// satisfy it.
type Transport interface {
	// Read reads at least one byte, blocking until some arrive, ctx is
	// done, or the transport is closed.
	Read(ctx context.Context, p []byte) (int, error)
	// Write sends all of p.
	Write(ctx context.Context, p []byte) (int, error)
}

// Lines is implemented by transports that drive the modem control lines,
// which boards wire to the chip's EN (reset) and BOOT strapping pins.
type Lines interface {
	SetLines(ctx context.Context, dtr, rts bool) error
}

// BaudSetter is implemented by transports that can change their line
// speed, as CHANGE_BAUDRATE needs.
type BaudSetter interface {
	SetBaud(ctx context.Context, baud int) error
}

// Options configure a Client. The zero value is ready.
type Options struct {
	// Timeout bounds each ordinary command. Zero means 3 seconds.
	Timeout time.Duration
	// Log receives one line per command and notable event (nil: none).
	Log io.Writer
	// Sleep waits between reset steps; nil means a context-aware time.Sleep.
	// Tests inject a fake.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client speaks the ROM loader protocol over a Transport. Its methods are
// safe for one goroutine at a time; Close may be called from any.
type Client struct {
	t    Transport
	opts Options

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	frames chan []byte

	mu       sync.Mutex
	readErr  error
	noise    bytes.Buffer // bytes outside frames: the boot log of a running chip
	statusLn int          // 2, or 4 for the ESP32 ROM
	chip     *ChipInfo
}

// New starts a client on t. Close stops it; it does not close t.
func New(t Transport, opts Options) *Client {
	if opts.Timeout == 0 {
		opts.Timeout = 3 * time.Second
	}
	if opts.Sleep == nil {
		opts.Sleep = sleepCtx
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{t: t, opts: opts, ctx: ctx, cancel: cancel, done: make(chan struct{}),
		frames: make(chan []byte, 64), statusLn: 2}
	go c.readLoop()
	return c
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the client's reader. A Read of the transport that is still
// blocked ends when the caller closes the transport or bytes arrive; the
// reader then exits without touching the client.
func (c *Client) Close() error {
	c.cancel()
	return nil
}

func (c *Client) readLoop() {
	defer close(c.done)
	var text []byte
	d := Decoder{OnNoise: func(x byte) {
		if x == '\n' || x == '\r' || (x >= 0x20 && x < 0x7f) {
			text = append(text, x)
		}
	}}
	buf := make([]byte, 4096)
	for {
		n, err := c.t.Read(c.ctx, buf)
		if n > 0 {
			d.Feed(buf[:n], func(f []byte) {
				select {
				case c.frames <- append([]byte(nil), f...):
				default: // nobody is waiting for this many answers: drop
				}
			})
			if len(text) > 0 {
				c.mu.Lock()
				if c.noise.Len() < 16<<10 {
					c.noise.Write(text)
				}
				c.mu.Unlock()
				text = text[:0]
			}
		}
		if err != nil {
			c.mu.Lock()
			c.readErr = err
			c.mu.Unlock()
			close(c.frames)
			return
		}
	}
}

// Console returns and clears what the chip printed outside SLIP frames:
// the ROM's and the app's boot messages.
func (c *Client) Console() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.noise.String()
	c.noise.Reset()
	return s
}

func (c *Client) logf(format string, a ...any) {
	if c.opts.Log != nil {
		fmt.Fprintf(c.opts.Log, "esprom: "+format+"\n", a...)
	}
}

// drain drops answers already received.
func (c *Client) drain() {
	for {
		select {
		case _, ok := <-c.frames:
			if !ok {
				return
			}
		default:
			return
		}
	}
}

// Command sends one command and waits up to timeout (0: the client's
// default) for the answer with the same command code. It returns the
// answer's value and its payload without status bytes. A failure status
// is a *ROMError.
func (c *Client) Command(ctx context.Context, op byte, data []byte, checksum uint32, timeout time.Duration) (uint32, []byte, error) {
	if timeout == 0 {
		timeout = c.opts.Timeout
	}
	pkt := AppendSLIP(nil, MarshalRequest(op, data, checksum))
	if _, err := c.t.Write(ctx, pkt); err != nil {
		return 0, nil, usererr.Errorf("esprom", "sending %s: %w", opName(op), err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				c.mu.Lock()
				err := c.readErr
				c.mu.Unlock()
				return 0, nil, usererr.Errorf("esprom", "link lost waiting for %s: %w", opName(op), err)
			}
			r, err := ParseResponse(f, c.statusLn)
			if err != nil || r.Op != op {
				continue // an echo, a stale answer, a frame of the boot log
			}
			if r.Status != 0 {
				return r.Value, nil, &ROMError{Op: op, Code: r.Error}
			}
			return r.Value, r.payload(c.statusLn), nil
		case <-timer.C:
			return 0, nil, usererr.Errorf("", "%w: %s (after %v)", ErrTimeout, opName(op), timeout)
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		}
	}
}

// Sync sends SYNC until the ROM loader answers, up to attempts times (0:
// 7), and drops the extra answers it sends. It returns ErrNoSync, with the
// hint to enter download mode by hand, when the chip never answers.
func (c *Client) Sync(ctx context.Context, attempts int) error {
	if attempts <= 0 {
		attempts = 7
	}
	for i := 0; i < attempts; i++ {
		_, _, err := c.Command(ctx, OpSync, SyncPayload(), 0, 100*time.Millisecond)
		if err == nil {
			// The ROM answers one SYNC with several responses: let them
			// arrive and drop them.
			if err := c.opts.Sleep(ctx, 50*time.Millisecond); err != nil {
				return err
			}
			c.drain()
			c.logf("synced after %d attempts", i+1)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var re *ROMError
		if errors.As(err, &re) {
			return err
		}
		c.mu.Lock()
		rerr := c.readErr
		c.mu.Unlock()
		if rerr != nil {
			return usererr.Errorf("esprom", "link lost while syncing: %w", rerr)
		}
	}
	return ErrNoSync
}

// ReadReg reads a 32-bit word of the chip's address space.
func (c *Client) ReadReg(ctx context.Context, addr uint32) (uint32, error) {
	v, _, err := c.Command(ctx, OpReadReg, words(addr), 0, 0)
	if err != nil {
		return 0, c.secureDownload(err, "READ_REG")
	}
	return v, nil
}

// WriteReg writes value to the bits of a word that mask selects (mask
// 0xFFFFFFFF: the whole word), then waits delay microseconds.
func (c *Client) WriteReg(ctx context.Context, addr, value, mask, delayUS uint32) error {
	_, _, err := c.Command(ctx, OpWriteReg, words(addr, value, mask, delayUS), 0, 0)
	return c.secureDownload(err, "WRITE_REG")
}

// secureDownload turns a refusal of a command that Secure Download Mode
// forbids into ErrSecureDownload when the chip is known to be in it.
func (c *Client) secureDownload(err error, what string) error {
	var re *ROMError
	if err != nil && errors.As(err, &re) && c.chip != nil && c.chip.SecureDownload {
		return usererr.Errorf("", "%w: %s (%v)", ErrSecureDownload, what, err)
	}
	return err
}

// ChangeBaud switches the ROM loader and the transport to baud. The
// transport must implement BaudSetter.
func (c *Client) ChangeBaud(ctx context.Context, baud int) error {
	bs, ok := c.t.(BaudSetter)
	if !ok {
		return usererr.Errorf("esprom", "this port cannot change its speed")
	}
	if _, _, err := c.Command(ctx, OpChangeBaud, words(uint32(baud), 0), 0, 0); err != nil {
		return err
	}
	if err := bs.SetBaud(ctx, baud); err != nil {
		return usererr.Errorf("esprom", "setting the port to %d baud: %w", baud, err)
	}
	// Let the chip's UART settle, then make sure both ends agree.
	if err := c.opts.Sleep(ctx, 50*time.Millisecond); err != nil {
		return err
	}
	c.drain()
	c.logf("now at %d baud", baud)
	return nil
}
