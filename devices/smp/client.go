package smp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"trustforge/internal/cbor"

	"trustforge/devices/serial"
	"trustforge/internal/usererr"
)

// Defaults of Options.
const (
	DefaultTimeout = 5 * time.Second
	DefaultRetries = 2
)

// Options configure a Client. The zero value is ready to use.
type Options struct {
	// Timeout bounds the wait for each answer. Zero means DefaultTimeout.
	Timeout time.Duration

	// Retries is how many more times a request that is safe to repeat is
	// sent after a timeout. Zero means DefaultRetries; negative means none.
	Retries int

	// V2 selects SMP version 2 headers, whose answers carry group-specific
	// error codes. The zero value sends version 1, which every SMP server
	// understands.
	V2 bool

	// Console, if not nil, receives the text the board prints between
	// frames: its console and boot log.
	Console io.Writer

	// Debug, if not nil, receives a line for every packet sent, answer
	// received and frame dropped.
	Debug io.Writer

	// Now returns the current time for progress reports. Nil means time.Now.
	Now func() time.Time
}

// Client is an SMP client of one board. Its methods may be called from
// several goroutines at once.
type Client struct {
	t    Transport
	opts Options

	ctx    context.Context // the reader's lifetime
	cancel context.CancelFunc
	done   chan struct{} // closed when the reader stops

	mu      sync.Mutex
	seq     uint8
	pending map[uint8]*call
	err     error // why the reader stopped

	wmu sync.Mutex // serialises frames on the transport
	dmu sync.Mutex // serialises debug lines
}

// call is one request waiting for its answer.
type call struct {
	hdr  Header
	sent time.Time
	ch   chan answer
}

type answer struct {
	hdr  Header
	body []byte
}

// NewClient returns a client speaking to the board at the end of t. It
// reads from t until Close. A nil opts means the defaults.
func NewClient(t Transport, opts *Options) *Client {
	c := &Client{t: t, pending: map[uint8]*call{}, done: make(chan struct{})}
	if opts != nil {
		c.opts = *opts
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	go c.readLoop()
	return c
}

// Close closes the transport and waits for the client's reader to stop.
// Requests still waiting fail with ErrClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.err == nil {
		c.err = ErrClosed
	}
	c.mu.Unlock()
	c.cancel()
	err := c.t.Close()
	<-c.done
	return err
}

func (c *Client) timeout() time.Duration {
	if c.opts.Timeout > 0 {
		return c.opts.Timeout
	}
	return DefaultTimeout
}

func (c *Client) retries() int {
	switch {
	case c.opts.Retries < 0:
		return 0
	case c.opts.Retries == 0:
		return DefaultRetries
	}
	return c.opts.Retries
}

func (c *Client) now() time.Time {
	if c.opts.Now != nil {
		return c.opts.Now()
	}
	return time.Now()
}

func (c *Client) version() uint8 {
	if c.opts.V2 {
		return 1
	}
	return 0
}

func (c *Client) debugf(format string, args ...any) {
	if c.opts.Debug == nil {
		return
	}
	c.dmu.Lock()
	fmt.Fprintf(c.opts.Debug, "smp: "+format+"\n", args...)
	c.dmu.Unlock()
}

type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }

func (c *Client) readLoop() {
	defer close(c.done)
	r := serial.NewReader(readFunc(func(p []byte) (int, error) { return c.t.Read(c.ctx, p) }))
	r.Console = c.opts.Console
	for {
		pkt, err := r.ReadPacket()
		if errors.Is(err, serial.ErrBadFrame) {
			c.debugf("dropped a frame: %v", err)
			continue
		}
		if err != nil {
			c.mu.Lock()
			if c.err == nil {
				c.err = usererr.Errorf("", "%w: %w", ErrLinkDown, err)
			}
			c.mu.Unlock()
			return
		}
		h, body, err := DecodePacket(pkt)
		if err != nil {
			c.debugf("dropped a packet: %v", err)
			continue
		}
		c.deliver(h, body)
	}
}

func (c *Client) deliver(h Header, body []byte) {
	c.mu.Lock()
	cl := c.pending[h.Seq]
	if cl == nil || cl.hdr.Group != h.Group || cl.hdr.ID != h.ID || cl.hdr.Op+1 != h.Op {
		c.mu.Unlock()
		c.debugf("dropped a stray answer: %s %s id %d seq %d", h.Group, h.Op, h.ID, h.Seq)
		return
	}
	delete(c.pending, h.Seq)
	c.mu.Unlock()
	c.debugf("answer %s id %d seq %d, %d bytes", h.Group, h.ID, h.Seq, len(body))
	cl.ch <- answer{h, body}
}

// linkErr returns why the reader stopped.
func (c *Client) linkErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// start sends one request and registers it for its answer.
func (c *Client) start(ctx context.Context, h Header, body []byte, timeout time.Duration) (*call, error) {
	h.Version = c.version()
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	free := false
	for range 256 {
		h.Seq = c.seq
		c.seq++
		if c.pending[h.Seq] == nil {
			free = true
			break
		}
	}
	if !free {
		c.mu.Unlock()
		return nil, usererr.New("smp", "256 requests already wait for an answer")
	}
	cl := &call{hdr: h, ch: make(chan answer, 1)}
	c.pending[h.Seq] = cl
	c.mu.Unlock()

	pkt, err := EncodePacket(h, body)
	if err == nil {
		var frame []byte
		if frame, err = serial.Encode(pkt); err == nil {
			wctx, cancel := context.WithTimeout(ctx, timeout)
			c.wmu.Lock()
			var n int
			n, err = c.t.Write(wctx, frame)
			c.wmu.Unlock()
			cancel()
			if err == nil && n != len(frame) {
				err = io.ErrShortWrite
			}
			if err != nil {
				err = usererr.Errorf("", "writing to the board: %w", err)
			}
		}
	}
	if err != nil {
		c.forget(cl)
		return nil, err
	}
	cl.sent = time.Now()
	c.debugf("sent %s %s id %d seq %d, %d bytes", h.Group, h.Op, h.ID, h.Seq, len(body))
	return cl, nil
}

func (c *Client) forget(cl *call) {
	c.mu.Lock()
	if c.pending[cl.hdr.Seq] == cl {
		delete(c.pending, cl.hdr.Seq)
	}
	c.mu.Unlock()
}

// await waits for the answer to cl until deadline.
func (c *Client) await(ctx context.Context, cl *call, deadline time.Time) (answer, error) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case a := <-cl.ch:
		return a, nil
	case <-timer.C:
		c.forget(cl)
		select {
		case a := <-cl.ch:
			return a, nil
		default:
		}
		return answer{}, ErrTimeout
	case <-ctx.Done():
		c.forget(cl)
		return answer{}, ctx.Err()
	case <-c.done:
		c.forget(cl)
		select {
		case a := <-cl.ch:
			return a, nil
		default:
		}
		return answer{}, c.linkErr()
	}
}

// Request is one SMP command.
type Request struct {
	// Name names the command in errors, such as "image upload".
	Name string
	// Op is OpRead or OpWrite.
	Op    Op
	Group Group
	ID    uint8
	// Body is encoded as CBOR. Nil sends an empty map.
	Body any
	// Idempotent marks a command that may be sent again after a timeout
	// because carrying it out twice changes nothing more than once.
	Idempotent bool
	// Timeout bounds the wait for the answer. Zero means the client's.
	Timeout time.Duration
}

// Do sends r and decodes the answer's body into resp (which may be nil). An
// answer with an error status returns an *Error.
func (c *Client) Do(ctx context.Context, r Request, resp any) error {
	if r.Name == "" {
		r.Name = fmt.Sprintf("%s command %d", r.Group, r.ID)
	}
	body := []byte{0xa0}
	if r.Body != nil {
		var err error
		if body, err = cbor.Marshal(r.Body); err != nil {
			return usererr.Errorf("smp", "%s: encoding the request: %w", r.Name, err)
		}
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = c.timeout()
	}
	attempts := 1
	if r.Idempotent {
		attempts += c.retries()
	}
	h := Header{Op: r.Op, Group: r.Group, ID: r.ID}
	for i := range attempts {
		cl, err := c.start(ctx, h, body, timeout)
		if err != nil {
			return usererr.Errorf("smp", "%s: %w", r.Name, err)
		}
		a, err := c.await(ctx, cl, cl.sent.Add(timeout))
		if errors.Is(err, ErrTimeout) {
			c.debugf("%s: no answer to attempt %d of %d", r.Name, i+1, attempts)
			continue
		}
		if err != nil {
			return usererr.Errorf("smp", "%s: %w", r.Name, err)
		}
		return decodeAnswer(r.Name, r.Group, a.body, resp)
	}
	if !r.Idempotent {
		return usererr.Errorf("smp", "%s: %w within %v (not sent again: the board may have carried it out)", r.Name, ErrTimeout, timeout)
	}
	return usererr.Errorf("smp", "%s: %w (%d attempts, %v each)", r.Name, ErrTimeout, attempts, timeout)
}

// status is the error part of an answer, in either SMP version.
type status struct {
	RC  *int64 `cbor:"rc"`
	Rsn string `cbor:"rsn"`
	Err *struct {
		Group uint64 `cbor:"group"`
		RC    int64  `cbor:"rc"`
	} `cbor:"err"`
}

// decodeAnswer turns an answer's body into resp or an *Error.
func decodeAnswer(name string, g Group, body []byte, resp any) error {
	var st status
	if err := cbor.Unmarshal(body, &st); err != nil {
		return usererr.Errorf("smp", "%s: the board's answer is not a CBOR map: %w", name, err)
	}
	if st.Err != nil && st.Err.RC != 0 {
		return &Error{Cmd: name, Group: Group(st.Err.Group), Code: int(st.Err.RC), GroupError: true, Reason: st.Rsn}
	}
	if st.RC != nil && *st.RC != 0 {
		return &Error{Cmd: name, Group: g, Code: int(*st.RC), Reason: st.Rsn}
	}
	if resp == nil {
		return nil
	}
	if err := cbor.Unmarshal(body, resp); err != nil {
		return usererr.Errorf("smp", "%s: unexpected answer: %w", name, err)
	}
	return nil
}
