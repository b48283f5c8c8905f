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
	"trustforge/internal/browser"
	"trustforge/internal/notify"
	"trustforge/internal/usererr"
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
	ErrNotConnected = usererr.New("link", "no board is connected")
	ErrUnplugged    = usererr.New("link", "the board was unplugged; plug it back in to go on")
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
	ended    chan struct{} // closed when the current connection ends
	watching map[Kind]bool
	subs     notify.List

	// ctx is the link's own: the watches for boards plugged back in run
	// until Close cancels it, and wg waits for them.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns an idle link. Close ends it.
func New() *Link {
	ctx, cancel := context.WithCancel(context.Background())
	l := &Link{now: time.Now, watching: map[Kind]bool{}, ctx: ctx, cancel: cancel}
	l.status = Status{State: Idle, Since: l.now()}
	l.log = newLog(l.now)
	return l
}

// Close disconnects the board and stops watching for boards plugged back
// in; it returns when the link's goroutines have ended. The link is not
// used after.
func (l *Link) Close() {
	l.Disconnect()
	l.cancel()
	l.wg.Wait()
}

// Log returns the link's log.
func (l *Link) Log() *Log { return l.log }

// Subscribe calls fn after every change of the link's state (not of its
// log: see Log.Subscribe), from
// whichever goroutine made it; fn must not block. It returns the function
// that stops the calls.
func (l *Link) Subscribe(fn func()) (unsubscribe func()) { return l.subs.Add(fn) }

func (l *Link) notify() { l.subs.Notify() }

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
	if l.ended != nil {
		close(l.ended)
		l.ended = nil
	}
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
	return l.connect(ctx, target{
		status:    Status{Kind: Serial, Label: port.Info().String(), Baud: baud},
		port:      port,
		failed:    fmt.Sprintf("opening %s failed", port.Info()),
		connected: fmt.Sprintf("connected to %s at %d baud", port.Info(), baud),
		open: func(ctx context.Context) (smp.Transport, <-chan struct{}, error) {
			if err := port.Open(ctx, webserial.Options{BaudRate: baud}); err != nil {
				return nil, nil, err
			}
			return port, port.Disconnected(), nil
		},
		watch: l.watchSerial,
	})
}

// ConnectUSB opens a WebUSB device's vendor bulk interface and connects to
// the board on it, replacing any other connection.
func (l *Link) ConnectUSB(ctx context.Context, dev *webusb.Device) error {
	return l.connect(ctx, target{
		status:    Status{Kind: USB, Label: dev.Info().String()},
		dev:       dev,
		failed:    fmt.Sprintf("opening %s failed", dev.Info()),
		connected: fmt.Sprintf("connected to %s over USB", dev.Info()),
		open: func(ctx context.Context) (smp.Transport, <-chan struct{}, error) {
			b, err := webusb.OpenBulk(ctx, dev)
			return b, nil, err
		},
		watch: l.watchUSB,
	})
}

// ConnectSimulated connects to the server's simulated board at url (see
// wsboard.URL), replacing any other connection.
func (l *Link) ConnectSimulated(ctx context.Context, url string) error {
	return l.connect(ctx, target{
		status:    Status{Kind: Simulated, Label: "Simulated board (no hardware)"},
		wsURL:     url,
		failed:    "connecting to the simulated board failed",
		connected: "connected to the simulated board",
		open: func(ctx context.Context) (smp.Transport, <-chan struct{}, error) {
			conn, err := wsboard.Dial(ctx, url)
			return conn, nil, err
		},
	})
}

// target is a board to connect to and how.
type target struct {
	status            Status // Kind, Label and Baud
	port              *webserial.Port
	dev               *webusb.Device
	wsURL             string
	failed, connected string // the log's lines
	// open opens the transport; gone, when not nil, is closed when the
	// board is unplugged.
	open func(ctx context.Context) (t smp.Transport, gone <-chan struct{}, err error)
	// watch, when not nil, starts the link's watch for the board coming
	// back after an unplug.
	watch func()
}

// connect replaces any connection with one to tg.
func (l *Link) connect(ctx context.Context, tg target) error {
	l.mu.Lock()
	done := l.closeLocked()
	l.gen++
	gen := l.gen
	l.port, l.dev, l.wsURL = tg.port, tg.dev, tg.wsURL
	l.status = tg.status
	l.status.State, l.status.Since = Connecting, l.now()
	l.mu.Unlock()
	done()
	l.notify()
	t, gone, err := tg.open(ctx)
	l.mu.Lock()
	if l.gen != gen {
		l.mu.Unlock()
		if err == nil {
			t.Close()
		}
		return ErrNotConnected
	}
	if err != nil {
		l.setLocked(Failed, err)
		l.mu.Unlock()
		l.event("%s: %v", tg.failed, err)
		return err
	}
	l.startLocked(t, gen)
	ended := make(chan struct{})
	l.ended = ended
	l.mu.Unlock()
	l.event("%s", tg.connected)
	if gone != nil {
		// Ends with the connection: on an unplug, or when the link
		// closes the connection itself.
		go func() {
			select {
			case <-gone:
				l.lost(gen, browser.Disconnected)
			case <-ended:
			}
		}()
	}
	if tg.watch != nil {
		tg.watch()
	}
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
	unplugged := errors.Is(err, browser.Disconnected)
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

// watch starts, once for each kind, the link's watch for boards plugged
// in and out: start's events go to handle until Close. When start fails
// the log says so, and the next connection of the kind tries again.
func watch[E any](l *Link, kind Kind, start func(context.Context) (<-chan E, error), handle func(E)) {
	l.mu.Lock()
	if l.watching[kind] || l.ctx.Err() != nil {
		l.mu.Unlock()
		return
	}
	l.watching[kind] = true
	l.mu.Unlock()
	events, err := start(l.ctx)
	if err != nil {
		l.mu.Lock()
		l.watching[kind] = false
		l.mu.Unlock()
		l.event("cannot watch for %s boards being plugged back in: %v", kind, err)
		return
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for ev := range events {
			handle(ev)
		}
	}()
}

// reconnect connects again to a board that came back, through connect;
// its error, already in the status, goes to the log too.
func (l *Link) reconnect(connect func(ctx context.Context) error) {
	ctx, cancel := context.WithTimeout(l.ctx, 10*time.Second)
	defer cancel()
	if err := connect(ctx); err != nil && !errors.Is(err, ErrNotConnected) {
		l.event("reconnecting failed: %v", err)
	}
}

// watchSerial starts the watch for serial ports plugged back in.
func (l *Link) watchSerial() {
	watch(l, Serial, webserial.Ports.Watch, func(ev webserial.Event) {
		if ev.Type != webserial.Connected {
			return
		}
		l.mu.Lock()
		st, port, baud := l.status, l.port, l.status.Baud
		l.mu.Unlock()
		if st.State != Unplugged || st.Kind != Serial || port == nil || !samePort(port, ev.Port) {
			return
		}
		l.event("the board is back on %s", ev.Port.Info())
		// The page must close a port its device left before opening it
		// again, as Web Serial requires.
		port.Close()
		l.reconnect(func(ctx context.Context) error { return l.ConnectSerial(ctx, ev.Port, baud) })
	})
}

func samePort(a, b *webserial.Port) bool {
	if a.Same(b) {
		return true
	}
	ia, ib := a.Info(), b.Info()
	return ia.USB && ib.USB && ia == ib
}

// watchUSB starts the watch for USB devices unplugged and plugged back
// in.
func (l *Link) watchUSB() {
	watch(l, USB, webusb.Devices.Watch, func(ev webusb.Event) {
		l.mu.Lock()
		st, dev, gen := l.status, l.dev, l.gen
		l.mu.Unlock()
		switch {
		case ev.Type == webusb.Disconnected && st.State == Connected && st.Kind == USB && dev != nil && dev.Same(ev.Device):
			l.lost(gen, browser.Disconnected)
		case ev.Type == webusb.Connected && st.State == Unplugged && st.Kind == USB && dev != nil && sameDevice(dev, ev.Device):
			l.event("the board is back: %s", ev.Device.Info())
			l.reconnect(func(ctx context.Context) error { return l.ConnectUSB(ctx, ev.Device) })
		}
	})
}

func sameDevice(a, b *webusb.Device) bool {
	if a.Same(b) {
		return true
	}
	ia, ib := a.Info(), b.Info()
	return ia.VendorID == ib.VendorID && ia.ProductID == ib.ProductID && ia.SerialNumber != "" && ia.SerialNumber == ib.SerialNumber
}
