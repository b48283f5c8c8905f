package board

import (
	"context"
	"errors"
	"strings"
	"time"

	"trustforge/devices/dfu"
	"trustforge/devices/esprom"
	"trustforge/devices/smp"
	"trustforge/devices/webserial"
	"trustforge/devices/webusb"
	"trustforge/internal/usererr"
	"trustforge/wasm/link"
	"trustforge/wasm/updateflow"
)

// This file reaches the boards the guided update and station mode drive
// without the SMP link: USB DFU devices by serial number, and ESP32
// boards on their Web Serial port. Their methods do I/O: call them off the
// UI goroutine.

// PollEvery is how often a board that went away is looked for.
const PollEvery = 100 * time.Millisecond

func Pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// IsDfuSe reports whether a granted DFU device shows a DfuSe memory layout
// (an interface named "@…").
func IsDfuSe(i webusb.Info) bool {
	for _, c := range i.Configurations {
		for _, it := range c.Interfaces {
			if it.Class == webusb.DFUClass && it.Subclass == webusb.DFUSubclass && strings.HasPrefix(it.Name, "@") {
				return true
			}
		}
	}
	return false
}

// HasBulk reports whether a device has a vendor bulk interface (SMP over
// USB), outside DFU mode.
func HasBulk(i webusb.Info) bool {
	for _, c := range i.Configurations {
		if _, _, _, err := webusb.FindBulk(c); err == nil {
			return true
		}
	}
	return false
}

// DFUBoard is a USB DFU board found by its serial number, which it keeps
// across re-enumerations (DFU mode, a reset, an unplug): the
// updateflow.DFULink of the console. Its application's SMP interface is
// reached through the console's link, so its log shows the exchange.
type DFUBoard struct {
	Serial string
	Link   *link.Link

	sess *DFUSession
	app  *smp.Client
}

var _ updateflow.DFULink = (*DFUBoard)(nil)

// find returns the granted device with the serial number that f accepts.
func (b *DFUBoard) find(ctx context.Context, f func(webusb.Info) bool) (*webusb.Device, error) {
	devs, err := webusb.Devices.Granted(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range devs {
		if i := d.Info(); i.SerialNumber == b.Serial && f(i) {
			return d, nil
		}
	}
	return nil, nil
}

func (b *DFUBoard) DFU(ctx context.Context) (dfu.Control, *dfu.Description, error) {
	if b.sess != nil {
		b.sess.Close()
		b.sess = nil
	}
	if b.app != nil {
		// The application's SMP connection holds the device open.
		b.Link.Disconnect()
		b.app = nil
	}
	for {
		d, err := b.find(ctx, webusb.Info.IsDFU)
		if err != nil {
			return nil, nil, err
		}
		if d != nil {
			s, err := OpenDFU(ctx, d)
			if err == nil {
				b.sess = s
				return s.ctl, s.Desc, nil
			}
			if !errors.Is(err, dfu.ErrDisconnected) {
				return nil, nil, err
			}
		}
		if err := Pause(ctx, PollEvery); err != nil {
			return nil, nil, usererr.Errorf("ui", "waiting for USB device %s: %w", b.Serial, err)
		}
	}
}

func (b *DFUBoard) App(ctx context.Context, wait bool) (*smp.Client, error) {
	if b.app != nil {
		if c, err := b.Link.Client(); err == nil && c == b.app {
			return c, nil
		}
		b.app = nil
	}
	for {
		d, err := b.find(ctx, func(i webusb.Info) bool { return HasBulk(i) && !IsDFUMode(i) })
		if err != nil {
			return nil, err
		}
		if d != nil {
			if err := b.Link.ConnectUSB(ctx, d); err != nil {
				return nil, err
			}
			c, err := b.Link.Client()
			if err != nil {
				return nil, err
			}
			b.app = c
			return c, nil
		}
		if !wait {
			return nil, usererr.Errorf("", "%w: USB device %s shows no SMP interface now", updateflow.ErrNoApp, b.Serial)
		}
		if err := Pause(ctx, PollEvery); err != nil {
			return nil, err
		}
	}
}

// IsDFUMode reports whether a device is in DFU mode (protocol 2).
func IsDFUMode(i webusb.Info) bool {
	for _, c := range i.Configurations {
		for _, it := range c.Interfaces {
			if it.Class == webusb.DFUClass && it.Subclass == webusb.DFUSubclass && it.Protocol == dfu.ProtocolDFUMode {
				return true
			}
		}
	}
	return false
}

func (b *DFUBoard) close() {
	if b.sess != nil {
		b.sess.Close()
		b.sess = nil
	}
}

// ESPBoard is an ESP32 board on a granted Web Serial port of an ESP32's
// USB bridge: the updateflow.ESPLink of the console. When it is unplugged
// it waits for such a port to be granted and plugged in again.
type ESPBoard struct{}

var _ updateflow.ESPLink = ESPBoard{}

// ESPPort is a Web Serial port the ESP kind closes when it is done.
type ESPPort struct{ ESPSerial }

// NewESPPort returns the open port p as an ESP32 ROM loader's line: its
// DTR and RTS reset the chip, and Close closes the port.
func NewESPPort(p *webserial.Port) ESPPort { return ESPPort{ESPSerial{p}} }

func (p ESPPort) Close() error { return p.p.Close() }

// GrantedESP returns the granted ports of ESP32 bridges.
func GrantedESP(ctx context.Context) ([]*webserial.Port, error) {
	ports, err := webserial.Ports.Granted(ctx)
	if err != nil {
		return nil, err
	}
	var out []*webserial.Port
	for _, q := range ports {
		if i := q.Info(); i.USB && isESPBridge(i.VendorID) {
			out = append(out, q)
		}
	}
	return out, nil
}

func (ESPBoard) Open(ctx context.Context) (esprom.Transport, error) {
	for {
		ports, err := GrantedESP(ctx)
		if err != nil {
			return nil, err
		}
		if len(ports) > 0 {
			p := ports[0]
			if err := p.Open(ctx, webserial.Options{BaudRate: 115200}); err != nil {
				return nil, err
			}
			return ESPPort{ESPSerial{p}}, nil
		}
		if err := Pause(ctx, PollEvery); err != nil {
			return nil, usererr.Errorf("ui", "waiting for the ESP32's port: %w", err)
		}
	}
}
