package station

import (
	"context"
	"errors"

	"trustforge/devices/dfu"
	"trustforge/devices/smp"
	"trustforge/devices/webusb"
	"trustforge/internal/usererr"
	"trustforge/wasm/station"
	"trustforge/wasm/ui/board"
	"trustforge/wasm/updateflow"
)

// stationDFU is a USB DFU board presented to station mode, found by its
// serial number, which it keeps across re-enumerations: the
// updateflow.DFULink of a station's board. Unlike the guided update's
// dfuBoard it opens its application's SMP interface straight over WebUSB:
// station mode leaves the console's link alone. Its methods do USB I/O:
// call them off the UI goroutine.
type stationDFU struct {
	serial string

	sess *board.DFUSession
	bulk *webusb.Bulk
	app  *smp.Client
}

var _ updateflow.DFULink = (*stationDFU)(nil)

// find returns the granted device with the serial number that f accepts,
// or nil when none is plugged in.
func (b *stationDFU) find(ctx context.Context, f func(webusb.Info) bool) (*webusb.Device, error) {
	devs, err := webusb.Devices.Granted(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range devs {
		if i := d.Info(); i.SerialNumber == b.serial && f(i) {
			return d, nil
		}
	}
	return nil, nil
}

func (b *stationDFU) DFU(ctx context.Context) (dfu.Control, *dfu.Description, error) {
	b.Close()
	for {
		d, err := b.find(ctx, webusb.Info.IsDFU)
		if err != nil {
			return nil, nil, err
		}
		if d != nil {
			s, err := board.OpenDFU(ctx, d)
			if err == nil {
				b.sess = s
				return s.Control(), s.Desc, nil
			}
			if !errors.Is(err, dfu.ErrDisconnected) {
				return nil, nil, err
			}
		}
		if err := board.Pause(ctx, board.PollEvery); err != nil {
			return nil, nil, usererr.Errorf("ui", "waiting for USB device %s: %w", b.serial, err)
		}
	}
}

func (b *stationDFU) App(ctx context.Context, wait bool) (*smp.Client, error) {
	if b.app != nil {
		return b.app, nil
	}
	for {
		d, err := b.find(ctx, func(i webusb.Info) bool { return board.HasBulk(i) && !board.IsDFUMode(i) })
		if err != nil {
			return nil, err
		}
		if d != nil {
			bulk, err := webusb.OpenBulk(ctx, d)
			if err == nil {
				b.bulk, b.app = bulk, smp.NewClient(bulk, nil)
				return b.app, nil
			}
			if !wait {
				return nil, err
			}
			// Just re-enumerated: it may not take the claim yet.
		} else if !wait {
			return nil, usererr.Errorf("", "%w: USB device %s shows no SMP interface now", updateflow.ErrNoApp, b.serial)
		}
		if err := board.Pause(ctx, board.PollEvery); err != nil {
			return nil, err
		}
	}
}

// Close lets go of the board: its DFU session and its application's SMP
// interface.
func (b *stationDFU) Close() error {
	if b.sess != nil {
		b.sess.Close()
		b.sess = nil
	}
	if b.app != nil {
		b.app.Close()
		b.bulk.Close()
		b.app, b.bulk = nil, nil
	}
	return nil
}

// grantedDFU lists the USB DFU boards the browser grants the console
// without a chooser (an enterprise policy, on a production line): the
// devices with a DFU interface (class 0xFE, subclass 0x01) and a serial
// number to find them by again.
func grantedDFU(ctx context.Context) ([]station.DFUBoard, error) {
	devs, err := webusb.Devices.Granted(ctx)
	if err != nil {
		return nil, err
	}
	var out []station.DFUBoard
	seen := map[string]bool{}
	for _, d := range devs {
		i := d.Info()
		if !i.IsDFU() || i.SerialNumber == "" || seen[i.SerialNumber] {
			continue
		}
		seen[i.SerialNumber] = true
		out = append(out, station.DFUBoard{Label: i.String(), Serial: i.SerialNumber, DfuSe: board.IsDfuSe(i),
			Link: &stationDFU{serial: i.SerialNumber}})
	}
	return out, nil
}
