package driver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// A bridge carries the bytes of a shim's ports (serial ports, USB bulk
// endpoints) between the page and the devices behind them. The shim calls
// the host function with {op: "open" | "read" | "write" | "close", port,
// session, ...}: each open starts a session whose device side is served by
// the port's device until the page closes it or the port is unplugged.

// Device is what a shim port is connected to: a simulated board
// (devices/sim's *Board satisfies it) or a rig's bridge to real hardware.
type Device interface {
	// Serve carries the port's bytes to and from the device until ctx is
	// done: the page closed the port, or it was unplugged.
	Serve(ctx context.Context, host io.ReadWriter) error
}

// SerialDevice is the Device of a serial port.
type SerialDevice = Device

// LineDevice is a serial Device wired to the port's DTR and RTS lines, as
// ESP32 boards wire them to EN and BOOT; the page's setSignals reach it.
type LineDevice interface {
	Device
	SetLines(dtr, rts bool)
}

// OpenRecord is one opening of a shim port, as the page asked it.
type OpenRecord struct {
	Port string
	// BaudRate is the speed a serial port was opened at.
	BaudRate int
}

// bridgePort is a port of a bridge.
type bridgePort struct {
	device Device
	baud   int // the device's line speed; other speeds garble (zero: any)
}

type bridge struct {
	ctx   context.Context // the tab's
	what  string          // "serial" or "USB", for messages
	ports map[string]bridgePort

	mu       sync.Mutex
	sessions map[string]*shimSession // by port id
	opens    []OpenRecord
}

func newBridge(ctx context.Context, what string) *bridge {
	return &bridge{ctx: ctx, what: what, ports: map[string]bridgePort{}, sessions: map[string]*shimSession{}}
}

func (b *bridge) add(id string, d Device, baud int) error {
	if id == "" || d == nil {
		return fmt.Errorf("driver: a %s shim port needs an ID and a Device", b.what)
	}
	if _, dup := b.ports[id]; dup {
		return fmt.Errorf("driver: %s shim port %q listed twice", b.what, id)
	}
	b.ports[id] = bridgePort{device: d, baud: baud}
	return nil
}

// Opens returns the openings of ports the page made so far.
func (b *bridge) Opens() []OpenRecord {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]OpenRecord(nil), b.opens...)
}

// IsOpen reports whether the page holds the port open.
func (b *bridge) IsOpen(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sessions[id] != nil
}

func (b *bridge) eval(expr string) error {
	ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](expr))
	if err != nil {
		return fmt.Errorf("driver: %s: %w", expr, err)
	}
	if !ok {
		return fmt.Errorf("driver: %s: no change (unknown port, or already in that state)", expr)
	}
	return nil
}

// hostRequest is a call of the shim to the host.
type hostRequest struct {
	Op       string `json:"op"`
	Port     string `json:"port"`
	Session  int    `json:"session"`
	BaudRate int    `json:"baudRate"`
	// Max bounds the bytes a read returns (a USB transfer's length); zero
	// means all that wait.
	Max  int    `json:"max"`
	Data []byte `json:"data"`
	// The other options of a serial open and setSignals, accepted as the
	// page sends them.
	BufferSize  int             `json:"bufferSize"`
	Signals     map[string]bool `json:"signals"`
	DataBits    int             `json:"dataBits"`
	StopBits    int             `json:"stopBits"`
	Parity      string          `json:"parity"`
	FlowControl string          `json:"flowControl"`
}

// hostReply answers a read.
type hostReply struct {
	Data   []byte `json:"data,omitempty"`
	Closed bool   `json:"closed,omitempty"`
}

// pollWait bounds one read long-poll; the shim asks again after an empty
// answer.
const pollWait = 10 * time.Second

func (b *bridge) handle(ctx context.Context, req hostRequest) (hostReply, error) {
	switch req.Op {
	case "open":
		return hostReply{}, b.open(req)
	case "close":
		b.mu.Lock()
		ss := b.sessions[req.Port]
		if ss != nil && ss.id == req.Session {
			delete(b.sessions, req.Port)
		} else {
			ss = nil
		}
		b.mu.Unlock()
		if ss != nil {
			ss.close()
		}
		return hostReply{}, nil
	case "read":
		ss := b.session(req)
		if ss == nil {
			return hostReply{Closed: true}, nil
		}
		wctx, cancel := context.WithTimeout(ctx, pollWait)
		defer cancel()
		data, closed := ss.take(wctx, req.Max)
		return hostReply{Data: data, Closed: closed}, nil
	case "write":
		ss := b.session(req)
		if ss == nil {
			return hostReply{}, errors.New("the port is not open")
		}
		ss.fromPage(req.Data)
		return hostReply{}, nil
	case "signals":
		ss := b.session(req)
		if ss == nil {
			return hostReply{}, errors.New("the port is not open")
		}
		if l, ok := b.ports[req.Port].device.(LineDevice); ok {
			ss.mu.Lock()
			for k, v := range req.Signals {
				switch k {
				case "dataTerminalReady":
					ss.dtr = v
				case "requestToSend":
					ss.rts = v
				}
			}
			dtr, rts := ss.dtr, ss.rts
			ss.mu.Unlock()
			l.SetLines(dtr, rts)
		}
		return hostReply{}, nil
	}
	return hostReply{}, fmt.Errorf("unknown %s host operation %q", b.what, req.Op)
}

func (b *bridge) session(req hostRequest) *shimSession {
	b.mu.Lock()
	defer b.mu.Unlock()
	ss := b.sessions[req.Port]
	if ss == nil || ss.id != req.Session {
		return nil
	}
	return ss
}

func (b *bridge) open(req hostRequest) error {
	p, ok := b.ports[req.Port]
	if !ok {
		return fmt.Errorf("no port %q", req.Port)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(b.ctx))
	ss := &shimSession{id: req.Session, cancel: cancel, wake: make(chan struct{}, 1)}
	ss.cond = sync.NewCond(&ss.mu)
	ss.garble = p.baud != 0 && req.BaudRate != 0 && req.BaudRate != p.baud
	b.mu.Lock()
	old := b.sessions[req.Port]
	b.sessions[req.Port] = ss
	b.opens = append(b.opens, OpenRecord{Port: req.Port, BaudRate: req.BaudRate})
	b.mu.Unlock()
	if old != nil {
		old.close()
	}
	go func() {
		p.device.Serve(ctx, ss)
		ss.close()
	}()
	return nil
}

func (b *bridge) closeSession(id string) {
	b.mu.Lock()
	ss := b.sessions[id]
	delete(b.sessions, id)
	b.mu.Unlock()
	if ss != nil {
		ss.close()
	}
}

// shimSession is one opening of a port: the device's side of the cable. As
// an io.ReadWriter it is the host the device serves.
type shimSession struct {
	id     int
	cancel context.CancelFunc
	garble bool // opened at the wrong baud rate
	wake   chan struct{}

	mu     sync.Mutex
	cond   *sync.Cond
	in     []byte // page → device
	out    []byte // device → page
	closed bool
	dtr    bool // modem lines as the page set them
	rts    bool
}

// Read gives the device what the page wrote.
func (ss *shimSession) Read(p []byte) (int, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for len(ss.in) == 0 && !ss.closed {
		ss.cond.Wait()
	}
	if len(ss.in) == 0 {
		return 0, io.EOF
	}
	n := copy(p, ss.in)
	ss.in = ss.in[n:]
	return n, nil
}

// Write queues what the device sent for the page's next read.
func (ss *shimSession) Write(p []byte) (int, error) {
	ss.mu.Lock()
	if ss.closed {
		ss.mu.Unlock()
		return 0, io.ErrClosedPipe
	}
	if ss.garble {
		for _, b := range p {
			ss.out = append(ss.out, b^0x5a|0x80)
		}
	} else {
		ss.out = append(ss.out, p...)
	}
	ss.mu.Unlock()
	select {
	case ss.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (ss *shimSession) fromPage(b []byte) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		return
	}
	ss.in = append(ss.in, b...)
	ss.cond.Broadcast()
}

// maxChunk bounds one read answer: large, so the page reads in few calls.
const maxChunk = 256 << 10

// take waits for bytes from the device and returns them, at most max (zero:
// maxChunk), or reports that the session closed.
func (ss *shimSession) take(ctx context.Context, max int) ([]byte, bool) {
	if max <= 0 || max > maxChunk {
		max = maxChunk
	}
	for {
		ss.mu.Lock()
		if len(ss.out) > 0 {
			n := min(len(ss.out), max)
			b := append([]byte(nil), ss.out[:n]...)
			ss.out = ss.out[n:]
			ss.mu.Unlock()
			return b, false
		}
		closed := ss.closed
		ss.mu.Unlock()
		if closed {
			return nil, true
		}
		select {
		case <-ss.wake:
		case <-ctx.Done():
			return nil, false
		}
	}
}

func (ss *shimSession) close() {
	ss.mu.Lock()
	already := ss.closed
	ss.closed = true
	ss.cond.Broadcast()
	ss.mu.Unlock()
	if !already {
		ss.cancel()
		select {
		case ss.wake <- struct{}{}:
		default:
		}
	}
}

// install exposes host as the window function hostFunc and has every
// page run shim (a function of one config) with cfg, before the page's
// own scripts; what names the shim in errors.
func install[A, R any](ctx context.Context, what, hostFunc string, host func(context.Context, A) (R, error), shim string, cfg map[string]any) error {
	cfg["host"] = hostFunc
	js, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("driver: %w", err)
	}
	if err := chromedp.Do(ctx, chromedp.ExposeFunc(hostFunc, host)); err != nil {
		return fmt.Errorf("driver: exposing the %s host: %w", what, err)
	}
	src := "(" + shim + ")(" + string(js) + ");"
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src}); err != nil {
		return fmt.Errorf("driver: injecting the %s shim: %w", what, err)
	}
	return nil
}
