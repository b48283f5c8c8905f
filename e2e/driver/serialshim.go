package driver

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// WebSerialShim is the JavaScript of the Web Serial shim: a function of one
// config argument that replaces navigator.serial (see webserial_shim.js).
// InstallSerialShim injects it; a production line's rig driving its own
// browser can inject it the same way.
//
//go:embed webserial_shim.js
var WebSerialShim string

// serialHostFunc is the window function through which the shim reaches
// the host.
const serialHostFunc = "__tfSerialHost"

// SerialDevice is what a shim port is connected to: a simulated board
// (devices/sim's *Board satisfies it) or a rig's bridge to real hardware.
type SerialDevice interface {
	// Serve carries the port's bytes to and from the device until ctx is
	// done: the page closed the port, or it was unplugged.
	Serve(ctx context.Context, host io.ReadWriter) error
}

// ShimPort is a serial port the shim offers to the page.
type ShimPort struct {
	// ID names the port in Plug, Unplug and the chooser. Required.
	ID string
	// VendorID and ProductID are the port's USB identifiers (getInfo);
	// zero VendorID makes a port without USB information.
	VendorID, ProductID uint16
	// Baud is the device's line speed. A page that opens the port at
	// another speed reads garbage, as on a real line. Zero accepts any.
	Baud int
	// Granted ports are listed by getPorts() from the start, as an
	// enterprise policy grants them; others must be picked in the chooser.
	Granted bool
	// Device receives the port's bytes. Required.
	Device SerialDevice
}

// Chooser modes of SerialShim.SetChooser; any other value picks the port
// with that ID.
const (
	ChooseFirst  = "first"  // pick the first port that matches the filters
	ChooseCancel = "cancel" // dismiss the chooser: NotFoundError
	ChooseHang   = "hang"   // never answer, as headless Chromium's chooser
)

// SerialShim is the host side of the Web Serial shim in one tab.
type SerialShim struct {
	ctx   context.Context // the tab's
	ports map[string]ShimPort

	mu       sync.Mutex
	sessions map[string]*shimSession // by port id
	opens    []OpenRecord
}

// OpenRecord is one open() of a shim port, as the page asked it.
type OpenRecord struct {
	Port     string
	BaudRate int
}

// InstallSerialShim replaces navigator.serial in the tab of ctx, from the
// next document it loads on, with the shim offering ports. Call it before
// navigating. Nothing reaches a real serial port.
func InstallSerialShim(ctx context.Context, chooser string, ports ...ShimPort) (*SerialShim, error) {
	s := &SerialShim{ctx: ctx, ports: map[string]ShimPort{}, sessions: map[string]*shimSession{}}
	type portDesc struct {
		ID           string `json:"id"`
		USBVendorID  *int   `json:"usbVendorId,omitempty"`
		USBProductID *int   `json:"usbProductId,omitempty"`
		Granted      bool   `json:"granted"`
		Connected    bool   `json:"connected"`
	}
	var descs []portDesc
	for _, p := range ports {
		if p.ID == "" || p.Device == nil {
			return nil, errors.New("driver: a shim port needs an ID and a Device")
		}
		if _, dup := s.ports[p.ID]; dup {
			return nil, fmt.Errorf("driver: shim port %q listed twice", p.ID)
		}
		s.ports[p.ID] = p
		d := portDesc{ID: p.ID, Granted: p.Granted, Connected: true}
		if p.VendorID != 0 {
			v, pr := int(p.VendorID), int(p.ProductID)
			d.USBVendorID, d.USBProductID = &v, &pr
		}
		descs = append(descs, d)
	}
	if chooser == "" {
		chooser = ChooseFirst
	}
	cfg, err := json.Marshal(map[string]any{"host": serialHostFunc, "ports": descs, "chooser": chooser})
	if err != nil {
		return nil, fmt.Errorf("driver: %w", err)
	}
	if err := chromedp.Do(ctx, chromedp.ExposeFunc(serialHostFunc, s.handle)); err != nil {
		return nil, fmt.Errorf("driver: exposing the serial host: %w", err)
	}
	src := "(" + WebSerialShim + ")(" + string(cfg) + ");"
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src}); err != nil {
		return nil, fmt.Errorf("driver: injecting the Web Serial shim: %w", err)
	}
	return s, nil
}

// Unplug unplugs the port's device: the page's streams fail with a
// NetworkError and "disconnect" fires. The device keeps running (a board
// with its own power, its USB serial cable pulled).
func (s *SerialShim) Unplug(id string) error {
	s.closeSession(id)
	return s.eval(fmt.Sprintf("__tfSerialShim.unplug(%q)", id))
}

// Plug plugs the port's device back in: "connect" fires and the page may
// open it again.
func (s *SerialShim) Plug(id string) error {
	return s.eval(fmt.Sprintf("__tfSerialShim.plug(%q)", id))
}

// SetChooser sets what the port chooser does on the page's next
// requestPort: ChooseFirst, ChooseCancel, ChooseHang or a port's ID.
func (s *SerialShim) SetChooser(mode string) error {
	return s.eval(fmt.Sprintf("__tfSerialShim.setChooser(%q)", mode))
}

// Opens returns the open() calls the page made so far.
func (s *SerialShim) Opens() []OpenRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]OpenRecord(nil), s.opens...)
}

// IsOpen reports whether the page holds the port open.
func (s *SerialShim) IsOpen(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[id] != nil
}

func (s *SerialShim) eval(expr string) error {
	ok, err := chromedp.Run(s.ctx, chromedp.Evaluate[bool](expr))
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
	Op          string          `json:"op"`
	Port        string          `json:"port"`
	Session     int             `json:"session"`
	BaudRate    int             `json:"baudRate"`
	BufferSize  int             `json:"bufferSize"`
	Data        []byte          `json:"data"`
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

func (s *SerialShim) handle(ctx context.Context, req hostRequest) (hostReply, error) {
	switch req.Op {
	case "open":
		return hostReply{}, s.open(req)
	case "close":
		s.mu.Lock()
		ss := s.sessions[req.Port]
		if ss != nil && ss.id == req.Session {
			delete(s.sessions, req.Port)
		} else {
			ss = nil
		}
		s.mu.Unlock()
		if ss != nil {
			ss.close()
		}
		return hostReply{}, nil
	case "read":
		ss := s.session(req)
		if ss == nil {
			return hostReply{Closed: true}, nil
		}
		wctx, cancel := context.WithTimeout(ctx, pollWait)
		defer cancel()
		data, closed := ss.take(wctx)
		return hostReply{Data: data, Closed: closed}, nil
	case "write":
		ss := s.session(req)
		if ss == nil {
			return hostReply{}, errors.New("the port is not open")
		}
		ss.fromPage(req.Data)
		return hostReply{}, nil
	case "signals":
		if s.session(req) == nil {
			return hostReply{}, errors.New("the port is not open")
		}
		return hostReply{}, nil
	}
	return hostReply{}, fmt.Errorf("unknown serial host operation %q", req.Op)
}

func (s *SerialShim) session(req hostRequest) *shimSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.sessions[req.Port]
	if ss == nil || ss.id != req.Session {
		return nil
	}
	return ss
}

func (s *SerialShim) open(req hostRequest) error {
	p, ok := s.ports[req.Port]
	if !ok {
		return fmt.Errorf("no port %q", req.Port)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(s.ctx))
	ss := &shimSession{id: req.Session, cancel: cancel, wake: make(chan struct{}, 1), done: make(chan struct{})}
	ss.garble = p.Baud != 0 && req.BaudRate != p.Baud
	s.mu.Lock()
	old := s.sessions[req.Port]
	s.sessions[req.Port] = ss
	s.opens = append(s.opens, OpenRecord{Port: req.Port, BaudRate: req.BaudRate})
	s.mu.Unlock()
	if old != nil {
		old.close()
	}
	go func() {
		defer close(ss.done)
		p.Device.Serve(ctx, ss)
		ss.close()
	}()
	return nil
}

func (s *SerialShim) closeSession(id string) {
	s.mu.Lock()
	ss := s.sessions[id]
	delete(s.sessions, id)
	s.mu.Unlock()
	if ss != nil {
		ss.close()
	}
}

// shimSession is one open() of a port: the device's side of the cable. As
// an io.ReadWriter it is the host the device serves.
type shimSession struct {
	id     int
	cancel context.CancelFunc
	garble bool // opened at the wrong baud rate
	wake   chan struct{}
	done   chan struct{}

	mu     sync.Mutex
	cond   *sync.Cond
	in     []byte // page → device
	out    []byte // device → page
	closed bool
}

func (ss *shimSession) init() {
	if ss.cond == nil {
		ss.cond = sync.NewCond(&ss.mu)
	}
}

// Read gives the device what the page wrote.
func (ss *shimSession) Read(p []byte) (int, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.init()
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
	ss.init()
	if ss.closed {
		return
	}
	ss.in = append(ss.in, b...)
	ss.cond.Broadcast()
}

// maxChunk bounds one read answer: large, so the page reads in few calls.
const maxChunk = 256 << 10

// take waits for bytes from the device and returns them all, or reports
// that the session closed.
func (ss *shimSession) take(ctx context.Context) ([]byte, bool) {
	for {
		ss.mu.Lock()
		if len(ss.out) > 0 {
			n := min(len(ss.out), maxChunk)
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
	ss.init()
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
