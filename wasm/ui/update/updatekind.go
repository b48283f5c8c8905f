package update

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/devices/webserial"
	"trustforge/devices/webusb"
	"trustforge/internal/usererr"
	"trustforge/wasm/link"
	"trustforge/wasm/ui/board"
	"trustforge/wasm/ui/kit"
	"trustforge/wasm/updateflow"
)

// Kinds of board the guided update drives.
const (
	boardSMP = "smp" // MCUboot over SMP: the console's link
	boardDFU = "dfu" // a USB DFU device: Zephyr slots or an STM32's DfuSe
	boardESP = "esp" // an ESP32 through its ROM loader on Web Serial
)

// boardKinds are the choices, for the picker.
var boardKinds = []struct{ id, label string }{
	{boardSMP, "MCUboot board (serial port, USB or the simulated board)"},
	{boardDFU, "USB DFU device (Zephyr board, STM32 bootloader)"},
	{boardESP, "ESP32 board (ROM loader over a serial port)"},
}

// dfuDevice is a granted USB DFU device, as the board screen lists it.
type dfuDevice struct {
	Serial, Label string
	DfuSe         bool
}

// pickKind follows the board kind picker.
func (p *updateFlow) pickKind(ctx app.Context, e app.Event) {
	p.kind, p.boardErr = ctx.JSSrc().Get("value").String(), ""
	p.refreshBoards()
}

// refreshBoards lists the granted DFU devices and ESP32 ports.
func (p *updateFlow) refreshBoards() {
	ctx := p.ui
	kind := p.kind
	if kind != boardDFU && kind != boardESP {
		return
	}
	ctx.Async(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var devs []dfuDevice
		var ports []string
		var err error
		if kind == boardDFU {
			var all []*webusb.Device
			all, err = webusb.Devices.Granted(cctx)
			for _, d := range all {
				if i := d.Info(); i.IsDFU() && i.SerialNumber != "" {
					devs = append(devs, dfuDevice{Serial: i.SerialNumber, Label: i.String(), DfuSe: board.IsDfuSe(i)})
				}
			}
		} else {
			var all []*webserial.Port
			all, err = board.GrantedESP(cctx)
			for _, q := range all {
				i := q.Info()
				ports = append(ports, fmt.Sprintf("USB %04x:%04x", i.VendorID, i.ProductID))
			}
		}
		ctx.Dispatch(func(app.Context) {
			p.dfuDevs, p.espPorts = devs, ports
			if err != nil {
				p.boardErr = board.DescribeDevice(err)
			}
			if kind == boardDFU && len(devs) == 1 && p.dfuSerial == "" {
				p.dfuSerial, p.dfuse = devs[0].Serial, devs[0].DfuSe
			}
		})
	})
}

// pickDFU takes the DFU device whose button was clicked; its serial number
// is read from the button at event time.
func (p *updateFlow) pickDFU(ctx app.Context, e app.Event) {
	serial := ctx.JSSrc().Get("dataset").Get("serial").String()
	for _, d := range p.dfuDevs {
		if d.Serial == serial {
			p.dfuSerial, p.dfuse = d.Serial, d.DfuSe
		}
	}
}

// grantDFU asks the browser for a USB DFU device.
func (p *updateFlow) grantDFU(ctx app.Context, e app.Event) {
	ctx = p.ui
	ctx.Async(func() {
		_, err := webusb.Devices.Request(context.Background(), webusb.Filter{Class: webusb.DFUClass})
		ctx.Dispatch(func(app.Context) {
			if err != nil {
				p.boardErr = board.DescribeDevice(err)
				return
			}
			p.refreshBoards()
		})
	})
}

// grantESP asks the browser for an ESP32's serial port.
func (p *updateFlow) grantESP(ctx app.Context, e app.Event) {
	ctx = p.ui
	ctx.Async(func() {
		_, err := webserial.Ports.Request(context.Background(), board.ESPUSBFilters...)
		ctx.Dispatch(func(app.Context) {
			if err != nil {
				p.boardErr = board.DescribeESP(err)
				return
			}
			p.refreshBoards()
		})
	})
}

// boardReady reports whether the chosen board can be checked.
func (p *updateFlow) boardReady() bool {
	switch p.kind {
	case boardDFU:
		return p.dfuSerial != ""
	case boardESP:
		return len(p.espPorts) > 0
	}
	return p.status.State == link.Connected
}

// boardKind returns the flow's Kind for the chosen board (nil: the link's
// SMP board), and how the board is reached, for the record.
func (p *updateFlow) boardKind() (updateflow.Kind, string, error) {
	switch p.kind {
	case boardDFU:
		b := &board.DFUBoard{Serial: p.dfuSerial, Link: p.Kit.Link}
		if !p.dfuse {
			return &updateflow.DFUSlot{Link: b}, "usb-dfu", nil
		}
		var addr uint64
		if s := strings.TrimSpace(p.dfuAddr); s != "" {
			var err error
			if addr, err = strconv.ParseUint(s, 0, 32); err != nil {
				return nil, "", usererr.Errorf("ui", "the address %q is not a number (write it as 0x08000000)", s)
			}
		}
		return &updateflow.DfuSe{Link: b, Address: uint32(addr)}, "usb-dfuse", nil
	case boardESP:
		return &updateflow.ESP{Link: board.ESPBoard{}}, "serial-esp32", nil
	}
	return nil, string(p.Kit.Link.Status().Kind), nil
}

// renderKind is the board screen's choice of board and, for DFU and ESP32
// boards, the device or port.
func (p *updateFlow) renderKind() app.UI {
	kind := p.kind
	if kind == "" {
		kind = boardSMP
	}
	return app.Div().ID("update-board-kind").DataSet("kind", kind).Body(
		app.Div().Class("form-inline").Body(
			kit.Pair(app.Label().For("update-kind").Text("Kind of board"),
				app.Select().ID("update-kind").DataSet("testid", "update-kind").OnChange(p.pickKind).Body(
					app.Range(boardKinds).Slice(func(i int) app.UI {
						k := boardKinds[i]
						return app.Option().Value(k.id).Selected(k.id == kind).Text(k.label)
					}),
				)),
		),
		app.If(kind == boardSMP, func() app.UI { return &board.ConnectPanel{Kit: p.Kit} }),
		app.If(kind == boardDFU, func() app.UI { return p.renderDFUBoards() }),
		app.If(kind == boardESP, func() app.UI { return p.renderESPBoards() }),
		app.If(p.boardErr != "", func() app.UI {
			return app.P().ID("update-board-error").Class("error").Aria("live", "assertive").Text(p.boardErr)
		}),
	)
}

func (p *updateFlow) renderDFUBoards() app.UI {
	return app.Div().ID("update-dfu").Body(
		app.P().Class("muted").Text("A Zephyr board gets the image in its upload slot over USB DFU, is reset to test-boot it and confirmed over its SMP interface; "+
			"an STM32 bootloader gets it at an address, read back and compared, then starts it."),
		app.If(len(p.dfuDevs) == 0, func() app.UI {
			return app.P().ID("update-dfu-none").Text("No USB DFU device is granted to this console yet.")
		}),
		app.Ul().ID("update-dfu-devices").Class("plain").Body(
			app.Range(p.dfuDevs).Slice(func(i int) app.UI {
				d := p.dfuDevs[i]
				chosen := d.Serial == p.dfuSerial
				cls := "btn-ghost"
				if chosen {
					cls = "btn-primary"
				}
				return app.Li().Body(app.Button().ID(fmt.Sprintf("update-dfu-%d", i)).DataSet("testid", "update-dfu-device").
					DataSet("serial", d.Serial).DataSet("chosen", chosen).Class(cls).Aria("pressed", chosen).
					Text(d.Label).OnClick(p.pickDFU))
			}),
		),
		app.If(p.dfuse, func() app.UI {
			return app.Div().Class("form-inline").Body(
				kit.Pair(app.Label().For("update-dfu-address").Text("Write at address"),
					app.Input().ID("update-dfu-address").DataSet("testid", "update-dfu-address").Type("text").Placeholder("0x08000000").
						Value(p.dfuAddr).OnInput(func(ctx app.Context, e app.Event) { p.dfuAddr = ctx.JSSrc().Get("value").String() })),
			)
		}),
		app.Div().Class("form-actions").Body(
			app.Button().ID("update-dfu-grant").Class("btn-ghost").Text("Grant a USB DFU device…").OnClick(p.grantDFU),
			app.Button().ID("update-dfu-refresh").Class("btn-ghost").Text("Look again").OnClick(func(ctx app.Context, e app.Event) { p.refreshBoards() }),
		),
	)
}

func (p *updateFlow) renderESPBoards() app.UI {
	text := "No ESP32 serial port is granted to this console yet."
	if len(p.espPorts) > 0 {
		text = "ESP32 port: " + strings.Join(p.espPorts, ", ") + ". The console resets the board into its ROM loader through DTR/RTS."
	}
	return app.Div().ID("update-esp").Body(
		app.P().Class("muted").Text("Each part of the flash set is written at its offset and checked by the chip's MD5; parts marked for flash encryption "+
			"are encrypted by the chip when its flash encryption is on. The board then restarts and its boot log must show the new version."),
		app.P().ID("update-esp-ports").DataSet("testid", "update-esp-ports").DataSet("count", len(p.espPorts)).Text(text),
		app.Div().Class("form-actions").Body(
			app.Button().ID("update-esp-grant").Class("btn-ghost").Text("Choose the ESP32's port…").OnClick(p.grantESP),
			app.Button().ID("update-esp-refresh").Class("btn-ghost").Text("Look again").OnClick(func(ctx app.Context, e app.Event) { p.refreshBoards() }),
		),
	)
}
