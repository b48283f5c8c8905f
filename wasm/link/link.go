// Package link is the console's connection to one board, shared by the
// Devices page and the technician's update flow: a Web Serial port, a
// WebUSB device exposing SMP on a vendor bulk interface, or the server's
// simulated board over a WebSocket. It keeps the SMP client, a log of the
// exchange, and the connection's state; when a serial or USB board is
// unplugged it says so, and when the same board is plugged back in it
// reconnects at the same settings, so an interrupted upload can resume.
//
// It holds no component state: pages Subscribe to it and re-render in
// ctx.Dispatch. Its methods do I/O and must run on a goroutine (ctx.Async).
package link

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"trustforge/devices/smp"
	"trustforge/devices/webserial"
	"trustforge/devices/webusb"
	"trustforge/devices/wsboard"
)

// Kind is how the board is reached.
type Kind string

// Kinds of link.
const (
	Serial    Kind = "serial"
	USB       Kind = "usb"
	Simulated Kind = "simulated"
)

// State is where the link stands.
type State string

// Link states.
const (
	Idle       State = "idle"       // no board
	Connecting State = "connecting" // opening the port or device
	Connected  State = "connected"  // the board can be talked to
	Unplugged  State = "unplugged"  // the board went away; plugging it back reconnects
	Failed     State = "failed"     // the link broke; connect again
)

// Errors of Client and Wait.
var (
	ErrNotConnected = errors.New("link: no board is connected")
	ErrUnplugged    = errors.New("link: the board was unplugged; plug it back in to go on")
)

// Status is a snapshot of the link.
type Status struct {
	State State
	Kind  Kind
	// Label names the board's port or device for people.
	Label string
	// Baud is the serial speed; zero for USB and the simulated board.
	Baud int
	// Err says why the link failed or was unplugged.
	Err error
	// Since is when the link entered State.
	Since time.Time
}

// Link is the connection to one board. Its methods may be called from
// several goroutines.
type Link struct {
	now func() time.Time
	log *Log

	mu       sync.Mutex
	status   Status
	gen      int // bumped at every connect and disconnect
	t        smp.Transport
	c        *smp.Client
	port     *webserial.Port
	dev      *webusb.Device
	wsURL    string
	watching map[Kind]bool
	subs     map[int]func()
	nextSub  int
}

// New returns an idle link.
func New() *Link {
	l := &Link{now: time.Now, subs: map[int]func(){}, watching: map[Kind]bool{}}
	l.status = Status{State: Idle, Since: l.now()}
	l.log = newLog(l.now)
	return l
}

// Log returns the link's log.
func (l *Link) Log() *Log { return l.log }

// Subscribe calls fn after every change of the link's state (not of its
// log: see Log.Subscribe), from
// whichever goroutine made it; fn must not block. It returns the function
// that stops the calls.
func (l *Link) Subscribe(fn func()) (unsubscribe func()) {
	l.mu.Lock()
	id := l.nextSub
	l.nextSub++
	l.subs[id] = fn
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		delete(l.subs, id)
		l.mu.Unlock()
	}
}

func (l *Link) notify() {
	l.mu.Lock()
	fns := make([]func(), 0, len(l.subs))
	for _, f := range l.subs {
		fns = append(fns, f)
	}
	l.mu.Unlock()
	for _, f := range fns {
		f()
	}
}

// Status returns the link's state.
func (l *Link) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

// Client returns the SMP client of the connected board.
func (l *Link) Client() (*smp.Client, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.status.State == Connected && l.c != nil:
		return l.c, nil
	case l.status.State == Unplugged:
		return nil, ErrUnplugged
	}
	return nil, ErrNotConnected
}

// Next waits until the board is connected through a client other than old
// (after a replug, or a new connection) and returns it. It fails when the
// link is idle or failed: only a board that went away and may come back is
// waited for.
func (l *Link) Next(ctx context.Context, old *smp.Client) (*smp.Client, error) {
	ch := make(chan struct{}, 1)
	stop := l.Subscribe(func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	})
	defer stop()
	for {
		l.mu.Lock()
		st, c := l.status, l.c
		l.mu.Unlock()
		switch {
		case st.State == Connected && c != nil && c != old:
			return c, nil
		case st.State == Idle:
			return nil, ErrNotConnected
		case st.State == Failed:
			return nil, st.Err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (l *Link) setLocked(st State, err error) {
	l.status.State, l.status.Err, l.status.Since = st, err, l.now()
}

// event logs a change of the link and tells the subscribers.
func (l *Link) event(format string, args ...any) {
	l.log.add(LogEvent, fmt.Sprintf(format, args...))
	l.notify()
}

// closeLocked ends the current connection's client and transport.
func (l *Link) closeLocked() (closeFn func()) {
	c, t := l.c, l.t
	l.c, l.t = nil, nil
	return func() {
		if c != nil {
			c.Close() // closes t too
		} else if t != nil {
			t.Close()
		}
	}
}

// start wraps t into a client and marks the link connected.
func (l *Link) startLocked(t smp.Transport, gen int) {
	w := &watched{Transport: t, fail: func(err error) { l.lost(gen, err) }}
	l.t = w
	l.c = smp.NewClient(w, &smp.Options{
		Debug:   l.log.writer(LogSMP, "smp: "),
		Console: l.log.writer(LogConsole, ""),
	})
	l.setLocked(Connected, nil)
}

// ConnectSerial opens a Web Serial port at baud and connects to the board
// on it, replacing any other connection. If the port's device is unplugged
// later, the link becomes Unplugged and reconnects when it comes back.
func (l *Link) ConnectSerial(ctx context.Context, port *webserial.Port, baud int) error {
	l.mu.Lock()
	done := l.closeLocked()
	l.gen++
	gen := l.gen
	l.port, l.dev, l.wsURL = port, nil, ""
	l.status = Status{State: Connecting, Kind: Serial, Label: port.Info().String(), Baud: baud, Since: l.now()}
	l.mu.Unlock()
	done()
	l.notify()
	err := port.Open(ctx, webserial.Options{BaudRate: baud})
	l.mu.Lock()
	if l.gen != gen {
		l.mu.Unlock()
		if err == nil {
			port.Close()
		}
		return ErrNotConnected
	}
	if err != nil {
		l.setLocked(Failed, err)
		l.mu.Unlock()
		l.event("opening %s failed: %v", port.Info(), err)
		return err
	}
	l.startLocked(port, gen)
	gone := port.Disconnected()
	l.mu.Unlock()
	l.event("connected to %s at %d baud", port.Info(), baud)
	go func() {
		if gone != nil {
			<-gone
			l.lost(gen, webserial.ErrDisconnected)
		}
	}()
	l.watchSerial()
	return nil
}

// ConnectUSB opens a WebUSB device's vendor bulk interface and connects to
// the board on it, replacing any other connection.
func (l *Link) ConnectUSB(ctx context.Context, dev *webusb.Device) error {
	l.mu.Lock()
	done := l.closeLocked()
	l.gen++
	gen := l.gen
	l.port, l.dev, l.wsURL = nil, dev, ""
	l.status = Status{State: Connecting, Kind: USB, Label: dev.Info().String(), Since: l.now()}
	l.mu.Unlock()
	done()
	l.notify()
	b, err := webusb.OpenBulk(ctx, dev)
	l.mu.Lock()
	if l.gen != gen {
		l.mu.Unlock()
		if err == nil {
			b.Close()
		}
		return ErrNotConnected
	}
	if err != nil {
		l.setLocked(Failed, err)
		l.mu.Unlock()
		l.event("opening %s failed: %v", dev.Info(), err)
		return err
	}
	l.startLocked(b, gen)
	l.mu.Unlock()
	l.event("connected to %s over USB", dev.Info())
	l.watchUSB()
	return nil
}

// ConnectSimulated connects to the server's simulated board at url (see
// wsboard.URL), replacing any other connection.
func (l *Link) ConnectSimulated(ctx context.Context, url string) error {
	l.mu.Lock()
	done := l.closeLocked()
	l.gen++
	gen := l.gen
	l.port, l.dev, l.wsURL = nil, nil, url
	l.status = Status{State: Connecting, Kind: Simulated, Label: "Simulated board (no hardware)", Since: l.now()}
	l.mu.Unlock()
	done()
	l.notify()
	conn, err := wsboard.Dial(ctx, url)
	l.mu.Lock()
	if l.gen != gen {
		l.mu.Unlock()
		if err == nil {
			conn.Close()
		}
		return ErrNotConnected
	}
	if err != nil {
		l.setLocked(Failed, err)
		l.mu.Unlock()
		l.event("connecting to the simulated board failed: %v", err)
		return err
	}
	l.startLocked(conn, gen)
	l.mu.Unlock()
	l.event("connected to the simulated board")
	return nil
}

// Disconnect closes the connection; the link forgets the board and does
// not reconnect on its own.
func (l *Link) Disconnect() {
	l.mu.Lock()
	done := l.closeLocked()
	l.gen++
	l.port, l.dev, l.wsURL = nil, nil, ""
	l.status = Status{State: Idle, Since: l.now()}
	l.mu.Unlock()
	done()
	l.event("disconnected")
}

// lost is called when the connection of generation gen broke.
func (l *Link) lost(gen int, err error) {
	l.mu.Lock()
	if gen != l.gen || l.status.State != Connected {
		l.mu.Unlock()
		return
	}
	done := l.closeLocked()
	unplugged := errors.Is(err, webserial.ErrDisconnected) || errors.Is(err, webusb.ErrDisconnected)
	if unplugged {
		l.setLocked(Unplugged, ErrUnplugged)
	} else {
		l.setLocked(Failed, err)
	}
	l.mu.Unlock()
	done()
	if unplugged {
		l.event("the board was unplugged")
	} else {
		l.event("the link failed: %v", err)
	}
}

// watched reports the first read failure of a transport: the board went
// away, or the link broke.
type watched struct {
	smp.Transport
	once sync.Once
	fail func(error)
}

func (w *watched) Read(ctx context.Context, p []byte) (int, error) {
	n, err := w.Transport.Read(ctx, p)
	if err != nil && ctx.Err() == nil {
		w.once.Do(func() { go w.fail(err) })
	}
	return n, err
}

// watchSerial starts, once, a watch for serial ports plugged back in.
func (l *Link) watchSerial() {
	l.mu.Lock()
	if l.watching[Serial] {
		l.mu.Unlock()
		return
	}
	l.watching[Serial] = true
	l.mu.Unlock()
	events, err := webserial.Watch(context.Background())
	if err != nil {
		return
	}
	go func() {
		for ev := range events {
			if ev.Type != webserial.Connected {
				continue
			}
			l.mu.Lock()
			st, port, baud := l.status, l.port, l.status.Baud
			l.mu.Unlock()
			if st.State != Unplugged || st.Kind != Serial || port == nil || !samePort(port, ev.Port) {
				continue
			}
			l.event("the board is back on %s", ev.Port.Info())
			// The page must close a port its device left before opening
			// it again, as Web Serial requires.
			port.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			l.ConnectSerial(ctx, ev.Port, baud)
			cancel()
		}
	}()
}

func samePort(a, b *webserial.Port) bool {
	if a.Same(b) {
		return true
	}
	ia, ib := a.Info(), b.Info()
	return ia.USB && ib.USB && ia == ib
}

// watchUSB starts, once, a watch for USB devices plugged back in.
func (l *Link) watchUSB() {
	l.mu.Lock()
	if l.watching[USB] {
		l.mu.Unlock()
		return
	}
	l.watching[USB] = true
	l.mu.Unlock()
	events, err := webusb.Watch(context.Background())
	if err != nil {
		return
	}
	go func() {
		for ev := range events {
			l.mu.Lock()
			st, dev := l.status, l.dev
			gen := l.gen
			l.mu.Unlock()
			switch {
			case ev.Type == webusb.Disconnected && st.State == Connected && st.Kind == USB && dev != nil && dev.Same(ev.Device):
				l.lost(gen, webusb.ErrDisconnected)
			case ev.Type == webusb.Connected && st.State == Unplugged && st.Kind == USB && dev != nil && sameDevice(dev, ev.Device):
				l.event("the board is back: %s", ev.Device.Info())
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				l.ConnectUSB(ctx, ev.Device)
				cancel()
			}
		}
	}()
}

func sameDevice(a, b *webusb.Device) bool {
	if a.Same(b) {
		return true
	}
	ia, ib := a.Info(), b.Info()
	return ia.VendorID == ib.VendorID && ia.ProductID == ib.ProductID && ia.SerialNumber != "" && ia.SerialNumber == ib.SerialNumber
}
