package ui

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/crypto/espimg"
	"trustforge/devices/esprom"
	"trustforge/devices/webserial"
)

// espUSBFilters are the USB serial bridges ESP32 boards carry: Espressif's
// own USB-Serial-JTAG, Silicon Labs CP210x, WCH CH340/CH343, FTDI.
var espUSBFilters = []webserial.Filter{{VendorID: 0x303a}, {VendorID: 0x10c4}, {VendorID: 0x1a86}, {VendorID: 0x0403}}

// espSerial is a Web Serial port as the ROM loader client's transport,
// with the DTR/RTS lines that reset an ESP32 into its bootloader.
type espSerial struct{ p *webserial.Port }

func (s espSerial) Read(ctx context.Context, b []byte) (int, error)  { return s.p.Read(ctx, b) }
func (s espSerial) Write(ctx context.Context, b []byte) (int, error) { return s.p.Write(ctx, b) }
func (s espSerial) SetLines(ctx context.Context, dtr, rts bool) error {
	return s.p.SetSignals(ctx, webserial.Signals{DataTerminalReady: &dtr, RequestToSend: &rts})
}

// espPanel detects an ESP32 on a Web Serial port through its ROM loader,
// shows its chip, revision, MAC, flash and eFuse security state, and
// flashes an image at an offset with verification.
type espPanel struct {
	app.Compo

	ui       app.Context
	busy     bool
	err, msg string

	port   *webserial.Port
	client *esprom.Client
	chip   *esprom.ChipInfo
	efuses string

	file     []byte
	fileName string
	fileDesc string
	offset   string
	done     int
	total    int
}

func (p *espPanel) OnMount(ctx app.Context) {
	p.ui = ctx
	if p.offset == "" {
		p.offset = "0x10000"
	}
}

func (p *espPanel) OnDismount() { p.disconnect() }

func (p *espPanel) disconnect() {
	if p.client != nil {
		p.client.Close()
		p.client = nil
	}
	if p.port != nil {
		p.port.Close()
		p.port = nil
	}
	p.chip = nil
}

// connect opens a granted ESP32 port, or asks for one; requestPort needs
// the click's user activation, so it is called at once.
func (p *espPanel) connect(ctx app.Context, e app.Event) {
	ctx = p.ui
	if p.busy {
		return
	}
	p.busy, p.err, p.msg = true, "", ""
	p.disconnect()
	ctx.Async(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		port, c, ci, ef, err := p.detect(cctx)
		ctx.Dispatch(func(app.Context) {
			p.busy = false
			if err != nil {
				p.err = describeESP(err)
				return
			}
			p.port, p.client, p.chip, p.efuses = port, c, ci, ef
		})
	})
}

func (p *espPanel) detect(ctx context.Context) (*webserial.Port, *esprom.Client, *esprom.ChipInfo, string, error) {
	ports, _ := webserial.Granted(ctx)
	var port *webserial.Port
	for _, q := range ports {
		if info := q.Info(); info.USB && isESPBridge(info.VendorID) {
			port = q
			break
		}
	}
	if port == nil {
		var err error
		if port, err = webserial.Request(ctx, espUSBFilters...); err != nil {
			return nil, nil, nil, "", err
		}
	}
	if err := port.Open(ctx, webserial.Options{BaudRate: 115200}); err != nil {
		return nil, nil, nil, "", err
	}
	c := esprom.New(espSerial{port}, esprom.Options{})
	ci, err := c.Connect(ctx, esprom.ResetClassic)
	if err != nil {
		c.Close()
		port.Close()
		return nil, nil, nil, "", err
	}
	ef := ""
	if !ci.SecureDownload && ci.Chip == espimg.ESP32C3 {
		e, err := c.ReadEfuses(ctx)
		if err != nil {
			c.Close()
			port.Close()
			return nil, nil, nil, "", err
		}
		ef = e.Summary()
	}
	return port, c, ci, ef, nil
}

func isESPBridge(vid uint16) bool {
	for _, f := range espUSBFilters {
		if f.VendorID == vid {
			return true
		}
	}
	return false
}

func (p *espPanel) pick(ctx app.Context, e app.Event) {
	ctx = p.ui
	files, err := inputFiles("esp-file")
	if err != nil || len(files) == 0 {
		return
	}
	f := files[0]
	p.file, p.fileName, p.fileDesc, p.err, p.msg = nil, f.Name, "", "", ""
	ctx.Async(func() {
		b, err := f.read(context.Background(), 16<<20, nil)
		desc := ""
		if err == nil && len(b) > 0 && b[0] == espimg.Magic {
			img, perr := espimg.Parse(b)
			switch {
			case perr != nil:
				err = perr
			default:
				desc = fmt.Sprintf("%v image", img.Header.Chip)
				if d, ok := img.AppDescription(); ok {
					desc += fmt.Sprintf(", %s %s", d.ProjectName, d.Version)
				}
				if img.Signature != nil {
					desc += ", Secure Boot v2 signed"
				}
			}
		}
		ctx.Dispatch(func(app.Context) {
			if err != nil {
				p.err = describeESP(err)
				return
			}
			if desc == "" {
				desc = "raw data"
			}
			p.file, p.fileDesc = b, fmt.Sprintf("%s: %s, %s", f.Name, desc, sizeText(int64(len(b))))
		})
	})
}

func (p *espPanel) flash(ctx app.Context, e app.Event) {
	ctx = p.ui
	if p.busy || p.client == nil || p.file == nil {
		return
	}
	off, err := strconv.ParseUint(strings.TrimSpace(p.offset), 0, 32)
	if err != nil {
		p.err = fmt.Sprintf("Offset %q is not a number (write it as 0x10000).", p.offset)
		return
	}
	c, ci, data, name := p.client, p.chip, p.file, p.fileName
	p.busy, p.err, p.msg, p.done, p.total = true, "", "", 0, len(data)
	ctx.Async(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		res, err := c.Flash(cctx, ci, []esprom.Part{{Name: name, Offset: uint32(off), Data: data}}, esprom.FlashOptions{
			Progress: func(_ string, done, total int) {
				ctx.Dispatch(func(app.Context) { p.done, p.total = done, total })
			}})
		if err == nil {
			err = c.FlashEnd(cctx, true)
		}
		ctx.Dispatch(func(app.Context) {
			p.busy = false
			if err != nil {
				p.err = describeESP(err)
				return
			}
			how := "verified with the chip's MD5"
			if !res.Verified {
				how = "not verified (Secure Download Mode refuses MD5)"
			}
			p.msg = fmt.Sprintf("Wrote %s at %#x (%s sent), %s. The board restarts into its flash.",
				sizeText(int64(res.Written)), off, sizeText(int64(res.Sent)), how)
			// The ROM loader is gone until the next reset into download mode.
			p.disconnect()
		})
	})
}

func describeESP(err error) string {
	switch {
	case errors.Is(err, esprom.ErrNoSync):
		return "The board did not answer in download mode: hold BOOT while pressing RESET, release RESET then BOOT, and connect again."
	case errors.Is(err, webserial.ErrNoPortChosen):
		return "No port was chosen."
	}
	return describeDevice(err)
}

func (p *espPanel) Render() app.UI {
	ci := p.chip
	return app.Section().ID("esp").Class("panel").DataSet("testid", "esp").Aria("label", "ESP32 boards").Body(
		app.H2().Text("ESP32 boards"),
		app.P().Class("muted").Text("An ESP32-family board in download mode, through its ROM loader: chip, MAC, flash and eFuse security state; flash an image at an offset, verified by the chip."),
		app.Div().Class("form-actions").Body(
			app.Button().ID("esp-connect").DataSet("testid", "esp-connect").Disabled(p.busy).
				Text("Detect ESP32").OnClick(p.connect),
		),
		app.If(p.busy && ci == nil, func() app.UI {
			return app.P().ID("esp-working").Class("muted").Text("Resetting the board into download mode and detecting it…")
		}),
		app.If(ci != nil, func() app.UI {
			return app.Dl().ID("esp-info").Body(
				app.Dt().Text("Chip"), app.Dd().ID("esp-chip").DataSet("testid", "esp-chip").Text(fmt.Sprintf("%v revision %v", ci.Chip, ci.Revision)),
				app.Dt().Text("MAC"), app.Dd().ID("esp-mac").Text(ci.MAC.String()),
				app.Dt().Text("Flash"), app.Dd().ID("esp-flash-size").Text(fmt.Sprintf("%d MB", ci.FlashSize>>20)),
				app.Dt().Text("Secure Boot"), app.Dd().ID("esp-secure-boot").Text(onOffText(ci.SecureBoot)),
				app.Dt().Text("Flash encryption"), app.Dd().ID("esp-flash-encryption").Text(onOffText(ci.FlashEncrypted)),
				app.Dt().Text("Secure Download Mode"), app.Dd().ID("esp-sdm").Text(onOffText(ci.SecureDownload)),
			)
		}),
		app.If(ci != nil && p.efuses != "", func() app.UI {
			return app.Details().Open(true).Body(app.Summary().Text("eFuse summary"), app.Pre().ID("esp-efuses").Text(p.efuses))
		}),
		app.If(ci != nil, func() app.UI {
			return app.Div().Body(
				app.Div().Class("form-inline").Body(
					app.Label().For("esp-file").Text("Image"),
					app.Input().ID("esp-file").DataSet("testid", "esp-file").Type("file").Accept(".bin").Disabled(p.busy).OnChange(p.pick),
					app.Label().For("esp-offset").Text("Offset"),
					app.Input().ID("esp-offset").DataSet("testid", "esp-offset").Type("text").Value(p.offset).Disabled(p.busy).
						OnInput(func(ctx app.Context, e app.Event) { p.offset = ctx.JSSrc().Get("value").String() }),
				),
				app.If(p.fileDesc != "", func() app.UI { return app.P().ID("esp-file-info").Text(p.fileDesc) }),
				app.Div().Class("form-actions").Body(
					app.Button().ID("esp-flash").DataSet("testid", "esp-flash").Disabled(p.busy || p.file == nil).Text("Flash and verify").OnClick(p.flash),
				),
			)
		}),
		app.If(p.busy && p.total > 0, func() app.UI {
			return app.Progress().ID("esp-progress").Max(p.total).Value(p.done)
		}),
		app.If(p.msg != "", func() app.UI {
			return app.P().ID("esp-message").DataSet("testid", "esp-message").Class("banner banner-ok").Aria("live", "polite").Text(p.msg)
		}),
		app.If(p.err != "", func() app.UI {
			return app.P().ID("esp-error").DataSet("testid", "esp-error").Class("banner banner-error").Aria("live", "assertive").Text(p.err)
		}),
	)
}

func onOffText(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
