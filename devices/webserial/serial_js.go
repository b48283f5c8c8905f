//go:build js && wasm

package webserial

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/hack-pad/safejs"

	"trustforge/internal/browser"
	"trustforge/internal/usererr"
)

// closeTimeout bounds each step of Close: a port whose device is gone may
// never settle a flush.
const closeTimeout = 2 * time.Second

// Ports is the browser's Web Serial API (navigator.serial).
//
// Its Request shows the browser's port chooser and returns the port the
// person picked. It must follow a click or key press on the page (it fails
// with errs.NeedsGesture otherwise), and returns errs.NoneChosen when the
// chooser is dismissed. In some browsers (headless ones) the chooser never
// answers: cancel ctx, from a Cancel button or a timeout, to give up.
//
// Its Granted returns the ports this origin may open without asking: those
// picked before, and those an enterprise policy grants. Its Watch reports
// ports of this origin being plugged in and unplugged until ctx is done,
// when the channel closes; events that the receiver is too slow to take
// are dropped beyond a small buffer.
var Ports = &browser.DeviceAPI[*Port, Event, Filter]{Name: "serial", Missing: errs.Unsupported, Noun: "port", RequestMethod: "requestPort", ListMethod: "getPorts",
	EventAttr: "target", Wrap: newPort, MapErr: mapErr, Filter: Filter.dict,
	Event: func(kind string, p *Port) Event { return Event{Type: EventType(kind), Port: p} }}

// dict is the filter as requestPort takes it.
func (f Filter) dict() map[string]any {
	return browser.Dict("usbVendorId", int(f.VendorID), "usbProductId", int(f.ProductID))
}

// Port is a serial port of the browser (a SerialPort). Once opened it is an
// smp.Transport. Its methods may be called from several goroutines.
type Port struct {
	v    safejs.Value
	info Info

	mu   sync.Mutex
	sess *session // the open session, or nil
}

func newPort(v safejs.Value) *Port {
	p := &Port{v: v}
	if i, err := browser.Call(v, "getInfo"); err == nil && i.Type() == safejs.TypeObject {
		if vid, err := i.Get("usbVendorId"); err == nil && vid.Type() == safejs.TypeNumber {
			n, _ := vid.Int()
			p.info.USB, p.info.VendorID = true, uint16(n)
		}
		if pid, err := i.Get("usbProductId"); err == nil && pid.Type() == safejs.TypeNumber {
			n, _ := pid.Int()
			p.info.ProductID = uint16(n)
		}
		if bt, err := i.Get("bluetoothServiceClassId"); err == nil && bt.Type() == safejs.TypeString {
			p.info.BluetoothService, _ = bt.String()
		}
	}
	return p
}

// Info identifies the port.
func (p *Port) Info() Info { return p.info }

// Same reports whether p and q are the same browser port.
func (p *Port) Same(q *Port) bool { return p != nil && q != nil && p.v.Equal(q.v) }

// session is one opening of the port: its streams and read loop.
type session struct {
	port    safejs.Value
	writer  safejs.Value
	chunks  chan []byte   // what the read loop read
	closing chan struct{} // closed by Close
	gone    chan struct{} // closed when the device is unplugged
	done    chan struct{} // closed when the read loop has stopped

	onGone safejs.Func

	mu       sync.Mutex
	reader   safejs.Value // the current reader, or undefined
	readErr  error        // why the read loop stopped
	goneOnce sync.Once

	rest []byte // unread part of the last chunk; only Read touches it
	rmu  sync.Mutex
	wmu  sync.Mutex
}

// Open opens the port with the line settings of opts and starts reading.
// It fails with errs.Busy when the port is open in another tab or program.
func (p *Port) Open(ctx context.Context, opts Options) error {
	if err := opts.validate(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sess != nil {
		return usererr.Errorf("webserial", "open: %w: already open", errs.Busy)
	}
	o := map[string]any{"baudRate": opts.BaudRate, "bufferSize": DefaultBufferSize, "flowControl": "none"}
	if opts.BufferSize > 0 {
		o["bufferSize"] = opts.BufferSize
	}
	if opts.DataBits != 0 {
		o["dataBits"] = opts.DataBits
	}
	if opts.StopBits != 0 {
		o["stopBits"] = opts.StopBits
	}
	if opts.Parity != "" {
		o["parity"] = string(opts.Parity)
	}
	if opts.HardwareFlowControl {
		o["flowControl"] = "hardware"
	}
	jo, err := safejs.ValueOf(o)
	if err != nil {
		return err
	}
	prom, err := browser.Call(p.v, "open", jo)
	if err != nil {
		return mapErr(browser.OpOpen, "open", err)
	}
	if _, err := browser.Await(ctx, prom); err != nil {
		if ctx.Err() != nil {
			// The port may still open: close it when it does.
			go func() {
				if _, err := browser.Await(context.Background(), prom); err == nil {
					if c, err := browser.Call(p.v, "close"); err == nil {
						browser.Await(context.Background(), c)
					}
				}
			}()
			return ctx.Err()
		}
		return mapErr(browser.OpOpen, "open", err)
	}
	s := &session{
		port:    p.v,
		chunks:  make(chan []byte, 64),
		closing: make(chan struct{}),
		gone:    make(chan struct{}),
		done:    make(chan struct{}),
		reader:  safejs.Undefined(),
	}
	if err := s.start(); err != nil {
		closePort(p.v)
		return err
	}
	p.sess = s
	return nil
}

// start takes the writer, listens for the device going away and starts the
// read loop.
func (s *session) start() error {
	w, err := s.port.Get("writable")
	if err != nil || w.IsNull() || w.IsUndefined() {
		return usererr.New("webserial", "open: the port has no writable stream")
	}
	if s.writer, err = browser.Call(w, "getWriter"); err != nil {
		return mapErr(browser.OpOpen, "open", err)
	}
	s.onGone, err = safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
		s.markGone()
		return nil
	})
	if err != nil {
		browser.Call(s.writer, "releaseLock")
		return err
	}
	if _, err := browser.Call(s.port, "addEventListener", string(Disconnected), s.onGone.Value()); err != nil {
		browser.Call(s.writer, "releaseLock")
		s.onGone.Release()
		return mapErr(browser.OpOpen, "open", err)
	}
	go s.readLoop()
	return nil
}

func (s *session) markGone() {
	s.goneOnce.Do(func() { close(s.gone) })
}

func (s *session) isGone() bool {
	select {
	case <-s.gone:
		return true
	default:
		return false
	}
}

func (s *session) isClosing() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

// nonFatal names the read errors after which the port's readable stream can
// be taken again (Web Serial specification, "handle a read error").
var nonFatal = map[string]bool{
	"BufferOverrunError": true,
	"BreakError":         true,
	"FramingError":       true,
	"ParityError":        true,
}

// readLoop reads the port's stream, chunk by chunk, into s.chunks until the
// stream ends, fails for good or Close cancels it.
func (s *session) readLoop() {
	defer close(s.done)
	defer close(s.chunks)
	stop := func(err error) {
		s.mu.Lock()
		if s.readErr == nil {
			s.readErr = err
		}
		s.mu.Unlock()
	}
	bg := context.Background()
	for {
		s.mu.Lock()
		if s.isClosing() {
			s.mu.Unlock()
			stop(ErrClosed)
			return
		}
		r, err := s.port.Get("readable")
		if err != nil || r.IsNull() || r.IsUndefined() {
			s.mu.Unlock()
			if s.isGone() {
				stop(errs.Disconnected)
			} else {
				stop(io.EOF)
			}
			return
		}
		reader, err := browser.Call(r, "getReader")
		if err != nil {
			s.mu.Unlock()
			stop(mapErr(browser.OpOther, "read", err))
			return
		}
		s.reader = reader
		s.mu.Unlock()

		for {
			prom, err := browser.Call(reader, "read")
			if err != nil {
				stop(mapErr(browser.OpOther, "read", err))
				s.releaseReader()
				return
			}
			res, err := browser.Await(bg, prom)
			if err != nil {
				s.releaseReader()
				if nonFatal[browser.ErrorName(err)] && !s.isClosing() {
					break // take the readable stream again
				}
				if s.isGone() || browser.ErrorName(err) == "NetworkError" {
					s.markGone()
					stop(errs.Disconnected)
				} else {
					stop(mapErr(browser.OpOther, "read", err))
				}
				return
			}
			if d, _ := res.Get("done"); truthy(d) {
				s.releaseReader()
				if s.isClosing() {
					stop(ErrClosed)
				} else {
					stop(io.EOF)
				}
				return
			}
			val, err := res.Get("value")
			if err != nil {
				continue
			}
			b, err := browser.BytesFromJS(val)
			if err != nil || len(b) == 0 {
				continue
			}
			select {
			case s.chunks <- b:
			case <-s.closing:
				browser.Call(reader, "cancel")
				s.releaseReader()
				stop(ErrClosed)
				return
			}
		}
	}
}

func (s *session) releaseReader() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.reader.IsUndefined() {
		browser.Call(s.reader, "releaseLock")
		s.reader = safejs.Undefined()
	}
}

func (s *session) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.readErr == nil {
		return ErrClosed
	}
	return s.readErr
}

func (p *Port) session() (*session, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sess == nil {
		return nil, ErrClosed
	}
	return p.sess, nil
}

// Read reads bytes the board sent, waiting for at least one.
func (p *Port) Read(ctx context.Context, b []byte) (int, error) {
	s, err := p.session()
	if err != nil {
		return 0, err
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if len(s.rest) == 0 {
		select {
		case c, ok := <-s.chunks:
			if !ok {
				return 0, s.err()
			}
			s.rest = c
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	n := copy(b, s.rest)
	s.rest = s.rest[n:]
	return n, nil
}

// Write sends b to the board.
func (p *Port) Write(ctx context.Context, b []byte) (int, error) {
	s, err := p.session()
	if err != nil {
		return 0, err
	}
	if s.isGone() {
		return 0, errs.Disconnected
	}
	if len(b) == 0 {
		return 0, nil
	}
	arr, err := browser.BytesToJS(b)
	if err != nil {
		return 0, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	prom, err := browser.Call(s.writer, "write", arr)
	if err != nil {
		return 0, mapErr(browser.OpOther, "write", err)
	}
	if _, err := browser.Await(ctx, prom); err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if s.isGone() || browser.ErrorName(err) == "NetworkError" {
			s.markGone()
			return 0, errs.Disconnected
		}
		return 0, mapErr(browser.OpOther, "write", err)
	}
	return len(b), nil
}

// Disconnected returns a channel closed when the open port's device is
// unplugged. It is nil when the port is not open.
func (p *Port) Disconnected() <-chan struct{} {
	s, err := p.session()
	if err != nil {
		return nil
	}
	return s.gone
}

// SetSignals sets the port's output control lines, as boards with an
// auto-reset circuit (DTR/RTS) need.
func (p *Port) SetSignals(ctx context.Context, sig Signals) error {
	if _, err := p.session(); err != nil {
		return err
	}
	m := map[string]any{}
	if sig.DataTerminalReady != nil {
		m["dataTerminalReady"] = *sig.DataTerminalReady
	}
	if sig.RequestToSend != nil {
		m["requestToSend"] = *sig.RequestToSend
	}
	if sig.Break != nil {
		m["break"] = *sig.Break
	}
	o, err := safejs.ValueOf(m)
	if err != nil {
		return err
	}
	prom, err := browser.Call(p.v, "setSignals", o)
	if err != nil {
		return mapErr(browser.OpOther, "set signals", err)
	}
	if _, err := browser.Await(ctx, prom); err != nil {
		return mapErr(browser.OpOther, "set signals", err)
	}
	return nil
}

// Close stops reading, releases the port's streams and closes it. The port
// may be opened again. Closing a port that is not open does nothing.
func (p *Port) Close() error {
	p.mu.Lock()
	s := p.sess
	p.sess = nil
	p.mu.Unlock()
	if s == nil {
		return nil
	}
	close(s.closing)
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()

	// Cancelling the reader settles its pending read; the read loop then
	// releases the lock.
	s.mu.Lock()
	reader := s.reader
	s.mu.Unlock()
	if !reader.IsUndefined() {
		if prom, err := browser.Call(reader, "cancel"); err == nil {
			browser.Await(ctx, prom)
		}
	}
	select {
	case <-s.done:
	case <-ctx.Done():
	}

	s.wmu.Lock()
	if prom, err := browser.Call(s.writer, "close"); err == nil {
		if _, err := browser.Await(ctx, prom); err != nil {
			if ab, err := browser.Call(s.writer, "abort"); err == nil {
				browser.Await(ctx, ab)
			}
		}
	}
	browser.Call(s.writer, "releaseLock")
	s.wmu.Unlock()

	browser.Call(s.port, "removeEventListener", string(Disconnected), s.onGone.Value())
	s.onGone.Release()
	if err := closePort(s.port); err != nil && !s.isGone() {
		return err
	}
	return nil
}

func closePort(port safejs.Value) error {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	prom, err := browser.Call(port, "close")
	if err != nil {
		return mapErr(browser.OpOther, "close", err)
	}
	if _, err := browser.Await(ctx, prom); err != nil {
		return mapErr(browser.OpOther, "close", err)
	}
	return nil
}

// Forget revokes this origin's permission to the port; it leaves
// Granted's list until the person picks it again.
func (p *Port) Forget(ctx context.Context) error {
	p.Close()
	f, err := p.v.Get("forget")
	if err != nil || f.Type() != safejs.TypeFunction {
		return usererr.Errorf("webserial", "forget: %w", errs.Unsupported)
	}
	prom, err := browser.Call(p.v, "forget")
	if err != nil {
		return mapErr(browser.OpOther, "forget", err)
	}
	if _, err := browser.Await(ctx, prom); err != nil {
		return mapErr(browser.OpOther, "forget", err)
	}
	return nil
}

// mapErr turns a rejected Web Serial call into the package's errors; op
// names the call in messages only, kind decides. A port that is locked
// or open is busy whatever the call.
func mapErr(kind browser.OpKind, op string, err error) error {
	if mapped, ok := errs.Map(kind, op, err); ok {
		return mapped
	}
	if browser.ErrorName(err) == "InvalidStateError" {
		return usererr.Errorf("webserial", "%s: %w (%s)", op, errs.Busy, browser.Detail(err))
	}
	return usererr.Errorf("webserial", "%s: %w", op, err)
}

func truthy(v safejs.Value) bool {
	b, err := v.Truthy()
	return err == nil && b
}
