package station

import (
	"context"
	"fmt"
	"time"
	"trustforge/internal/usererr"

	"trustforge/devices/provision"
	"trustforge/devices/smp"
)

// Port is a serial port a board is presented on: in the console, a Web
// Serial port the browser's policy grants the console.
type Port interface {
	// Label names the port for people, e.g. "USB 2fe3:0100".
	Label() string
	// USB reports whether the port is a USB device, and its identifiers.
	USB() (ok bool, vendor, product uint16)
	// Open opens the port at baud. For ESP32 boards the transport also
	// drives DTR/RTS (esprom.Lines), which reset the chip into its ROM
	// loader.
	Open(ctx context.Context, baud int) (smp.Transport, error)
}

// PortFilter says which granted ports are production ports. The zero value
// takes USB serial ports only: a machine's built-in UART (often its kernel
// console) is never a board.
type PortFilter struct {
	// AnyPort takes ports without USB information too.
	AnyPort bool
	// VendorID, when not zero, takes only USB ports of that vendor, and
	// ProductID (when not zero) of that product.
	VendorID, ProductID uint16
}

// Takes reports whether the filter takes p.
func (f PortFilter) Takes(p Port) bool {
	usb, v, pr := p.USB()
	switch {
	case !usb:
		return f.AnyPort && f.VendorID == 0
	case f.VendorID != 0 && v != f.VendorID:
		return false
	case f.ProductID != 0 && pr != f.ProductID:
		return false
	}
	return true
}

// DefaultBaud is the line speed of production ports when none is set.
const DefaultBaud = 115200

// RunOptions configure ProgramPorts.
type RunOptions struct {
	// Filter selects the production ports among those given.
	Filter PortFilter
	// Baud is the ports' line speed; zero means DefaultBaud.
	Baud int
	// Timeout bounds the wait for each SMP answer; zero means the SMP
	// client's default.
	Timeout time.Duration
	// OnStep is called with each board's index and step as it starts and
	// ends; OnResult with each board's result. Both may be nil.
	OnStep   func(i int, port string, st Step)
	OnResult func(i int, r *Result)
}

// ProgramPorts programs the board on each port the filter takes, one
// after the other: open the port, run Program, close it. It returns the
// results in port order; it stops early only when ctx is done.
func (s *Station) ProgramPorts(ctx context.Context, ports []Port, o RunOptions) []*Result {
	return s.ProgramBoards(ctx, ports, nil, o)
}

// ProgramBoards programs the boards on the serial ports the filter takes
// (as ProgramPorts does), then each USB DFU board (ProgramDFU), one after
// the other, numbering them in that order. It returns the results in that
// order; it stops early only when ctx is done.
func (s *Station) ProgramBoards(ctx context.Context, ports []Port, dfus []DFUBoard, o RunOptions) []*Result {
	baud := o.Baud
	if baud <= 0 {
		baud = DefaultBaud
	}
	var out []*Result
	n := 0
	each := func(kind, name string, f func(label string, onStep func(Step)) *Result) {
		i := n
		n++
		label := fmt.Sprintf("%s %d (%s)", kind, i+1, name)
		r := f(label, func(st Step) {
			if o.OnStep != nil {
				o.OnStep(i, label, st)
			}
		})
		out = append(out, r)
		if o.OnResult != nil {
			o.OnResult(i, r)
		}
	}
	for _, p := range ports {
		if ctx.Err() != nil {
			return out
		}
		if !o.Filter.Takes(p) {
			continue
		}
		each("port", p.Label(), func(label string, onStep func(Step)) *Result {
			return s.programPort(ctx, p, label, baud, o.Timeout, onStep)
		})
	}
	for _, b := range dfus {
		if ctx.Err() != nil {
			return out
		}
		each("USB DFU", b.Label, func(label string, onStep func(Step)) *Result {
			return s.ProgramDFU(ctx, b, label, onStep)
		})
	}
	return out
}

func (s *Station) programPort(ctx context.Context, p Port, label string, baud int, timeout time.Duration, onStep func(Step)) *Result {
	if s.Package.Manifest.Release.IsFlashSet() {
		// The ESP32's ROM loader: the port's DTR/RTS reset the chip into
		// it, and the flow opens the port again after a pulled cable.
		return s.ProgramESP(ctx, portLink{p: p, baud: baud}, label, onStep)
	}
	t, err := p.Open(ctx, baud)
	if err != nil {
		now := s.now()
		s.mu.Lock()
		s.counts.Failed++
		s.mu.Unlock()
		r := &Result{Port: label, State: Failed, Reason: "opening the port: " + usererr.Message(err), Started: now, Finished: now,
			Steps: []Step{{Name: "open", Status: provision.Failed, Detail: usererr.Message(err)}}}
		onStep(r.Steps[0])
		return r
	}
	c := smp.NewClient(t, &smp.Options{Timeout: timeout})
	defer c.Close()
	return s.Program(ctx, c, label, onStep)
}
