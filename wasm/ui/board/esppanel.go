package board

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/crypto/espimg"
	"trustforge/crypto/pki"
	"trustforge/devices/esprom"
	"trustforge/devices/webserial"
	"trustforge/internal/browser"
	"trustforge/wasm/state"
	"trustforge/wasm/ui/kit"
)

// Irreversible is what every eFuse step says, wherever it is shown.
const Irreversible = "eFuses only change from 0 to 1: this cannot be undone."

// ESPUSBFilters are the USB serial bridges ESP32 boards carry: Espressif's
// own USB-Serial-JTAG, Silicon Labs CP210x, WCH CH340/CH343, FTDI.
var ESPUSBFilters = []webserial.Filter{{VendorID: 0x303a}, {VendorID: 0x10c4}, {VendorID: 0x1a86}, {VendorID: 0x0403}}

// ESPSerial is a Web Serial port as the ROM loader client's transport,
// with the DTR/RTS lines that reset an ESP32 into its bootloader.
type ESPSerial struct{ p *webserial.Port }

func (s ESPSerial) Read(ctx context.Context, b []byte) (int, error)  { return s.p.Read(ctx, b) }
func (s ESPSerial) Write(ctx context.Context, b []byte) (int, error) { return s.p.Write(ctx, b) }
func (s ESPSerial) SetLines(ctx context.Context, dtr, rts bool) error {
	return s.p.SetSignals(ctx, webserial.Signals{DataTerminalReady: &dtr, RequestToSend: &rts})
}

// ESPPanel detects an ESP32 on a Web Serial port through its ROM loader,
// shows its chip, revision, MAC, flash and eFuse security state, and
// flashes an image at an offset with verification.
type ESPPanel struct {
	app.Compo

	// App is the tab's shared state: the CA's ESP32 profiles and the
	// device registry. Without it the panel burns steps by hand only.
	App *state.App

	// profiles are the ESP32 profiles; product names the chosen one.
	profiles []pki.Profile
	product  string

	ui       app.Context
	busy     bool
	err, msg string

	port   *webserial.Port
	client *esprom.Client
	chip   *esprom.ChipInfo
	efuses string
	ef     *esprom.Efuses

	// plan is the eFuse step shown for confirmation; confirmed is the
	// person's acknowledgement that it cannot be undone.
	plan      *esprom.Burn
	confirmed bool
	encrypt   bool // have the ROM encrypt the image with the burned key

	file     []byte
	fileName string
	fileDesc string
	offset   string
	done     int
	total    int
}

func (p *ESPPanel) OnMount(ctx app.Context) {
	p.ui = ctx
	if p.offset == "" {
		p.offset = "0x10000"
	}
	if app.IsClient {
		p.loadProfiles()
	}
}

func (p *ESPPanel) OnDismount() { p.disconnect() }

func (p *ESPPanel) disconnect() {
	if p.client != nil {
		p.client.Close()
		p.client = nil
	}
	if p.port != nil {
		p.port.Close()
		p.port = nil
	}
	p.chip, p.ef, p.plan, p.confirmed = nil, nil, nil, false
}

// connect opens a granted ESP32 port, or asks for one; requestPort needs
// the click's user activation, so it is called at once.
func (p *ESPPanel) connect(ctx app.Context, e app.Event) {
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
				p.err = DescribeESP(err)
				return
			}
			p.port, p.client, p.chip, p.ef = port, c, ci, ef
			if ef != nil {
				p.efuses = ef.Summary()
			}
		})
	})
}

func (p *ESPPanel) detect(ctx context.Context) (*webserial.Port, *esprom.Client, *esprom.ChipInfo, *esprom.Efuses, error) {
	ports, _ := webserial.Ports.Granted(ctx)
	var port *webserial.Port
	for _, q := range ports {
		if info := q.Info(); info.USB && isESPBridge(info.VendorID) {
			port = q
			break
		}
	}
	if port == nil {
		var err error
		if port, err = webserial.Ports.Request(ctx, ESPUSBFilters...); err != nil {
			return nil, nil, nil, nil, err
		}
	}
	if err := port.Open(ctx, webserial.Options{BaudRate: 115200}); err != nil {
		return nil, nil, nil, nil, err
	}
	c := esprom.New(ESPSerial{port}, esprom.Options{})
	ci, err := c.Connect(ctx, esprom.ResetClassic)
	if err != nil {
		c.Close()
		port.Close()
		return nil, nil, nil, nil, err
	}
	var ef *esprom.Efuses
	if !ci.SecureDownload && (ci.Chip == espimg.ESP32C3 || ci.Chip == espimg.ESP32S3) {
		if ef, err = c.ReadEfuses(ctx); err != nil {
			c.Close()
			port.Close()
			return nil, nil, nil, nil, err
		}
	}
	return port, c, ci, ef, nil
}

func isESPBridge(vid uint16) bool {
	for _, f := range ESPUSBFilters {
		if f.VendorID == vid {
			return true
		}
	}
	return false
}

func (p *ESPPanel) pick(ctx app.Context, e app.Event) {
	ctx = p.ui
	files, err := kit.InputFiles("esp-file")
	if err != nil || len(files) == 0 {
		return
	}
	f := files[0]
	p.file, p.fileName, p.fileDesc, p.err, p.msg = nil, f.Name, "", "", ""
	ctx.Async(func() {
		b, err := f.Read(context.Background(), 16<<20, nil)
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
				p.err = DescribeESP(err)
				return
			}
			if desc == "" {
				desc = "raw data"
			}
			p.file, p.fileDesc = b, fmt.Sprintf("%s: %s, %s", f.Name, desc, kit.SizeText(int64(len(b))))
		})
	})
}

func (p *ESPPanel) flash(ctx app.Context, e app.Event) {
	ctx = p.ui
	if p.busy || p.client == nil || p.file == nil {
		return
	}
	off, err := strconv.ParseUint(strings.TrimSpace(p.offset), 0, 32)
	if err != nil {
		p.err = fmt.Sprintf("Offset %q is not a number (write it as 0x10000).", p.offset)
		return
	}
	c, ci, data, name, enc := p.client, p.chip, p.file, p.fileName, p.encrypt
	p.busy, p.err, p.msg, p.done, p.total = true, "", "", 0, len(data)
	ctx.Async(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		// The ROM encrypts whole 16-byte units as it writes: send plain
		// blocks, which arrive whole, when it encrypts.
		res, err := c.Flash(cctx, ci, []esprom.Part{{Name: name, Offset: uint32(off), Data: data, Encrypt: enc}}, esprom.FlashOptions{
			Uncompressed: enc,
			Progress: func(_ string, done, total int) {
				ctx.Dispatch(func(app.Context) { p.done, p.total = done, total })
			}})
		if err == nil {
			err = c.FlashEnd(cctx, true)
		}
		ctx.Dispatch(func(app.Context) {
			p.busy = false
			if err != nil {
				p.err = DescribeESP(err)
				return
			}
			how := "verified with the chip's MD5"
			switch {
			case enc:
				how = "encrypted by the chip as it was written"
			case !res.Verified:
				how = "not verified (Secure Download Mode refuses MD5)"
			}
			p.msg = fmt.Sprintf("Wrote %s at %#x (%s sent), %s. The board restarts into its flash.",
				kit.SizeText(int64(res.Written)), off, kit.SizeText(int64(res.Sent)), how)
			// The ROM loader is gone until the next reset into download mode.
			p.disconnect()
		})
	})
}

// planDigest reads a Secure Boot v2 public (or signing) key and plans
// burning its digest into a free key block.
func (p *ESPPanel) planDigest(ctx app.Context, e app.Event) {
	ctx = p.ui
	files, err := kit.InputFiles("esp-sb-key")
	if err != nil || len(files) == 0 || p.ef == nil {
		return
	}
	f, ef := files[0], p.ef
	p.plan, p.confirmed, p.err, p.msg = nil, false, "", ""
	ctx.Async(func() {
		var plan *esprom.Burn
		b, err := f.Read(context.Background(), 64<<10, nil)
		if err == nil {
			var pub any
			if pub, err = espimg.ParsePublicKey(b); err == nil {
				var d [32]byte
				if d, err = espimg.KeyDigest(pub); err == nil {
					plan, err = esprom.PlanKey(ef, esprom.PurposeSecureBootDigest, d[:], false)
				}
			}
		}
		ctx.Dispatch(func(app.Context) {
			if err != nil {
				p.err = DescribeESP(err)
				return
			}
			p.plan = plan
		})
	})
}

// planFlashKey draws a new XTS-AES-128 key in this browser and plans
// burning it, read-protected, into a free key block. The key is not kept
// anywhere else: only the chip's flash controller will ever use it.
func (p *ESPPanel) planFlashKey(ctx app.Context, e app.Event) {
	if p.ef == nil {
		return
	}
	p.plan, p.confirmed, p.err, p.msg = nil, false, "", ""
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		p.err = DescribeESP(err)
		return
	}
	plan, err := esprom.PlanKey(p.ef, esprom.PurposeXTSAES128, key, true)
	if err != nil {
		p.err = DescribeESP(err)
		return
	}
	p.plan = plan
}

// planFlashEncryption plans turning flash encryption on.
func (p *ESPPanel) planFlashEncryption(ctx app.Context, e app.Event) {
	if p.ef == nil {
		return
	}
	p.plan, p.confirmed, p.err, p.msg = nil, false, "", ""
	plan, err := esprom.PlanFlashEncryption(p.ef, false)
	if err != nil {
		p.err = DescribeESP(err)
		return
	}
	p.plan = plan
}

// planSecureBoot plans burning SECURE_BOOT_EN.
func (p *ESPPanel) planSecureBoot(ctx app.Context, e app.Event) {
	if p.ef == nil {
		return
	}
	p.plan, p.confirmed, p.err, p.msg = nil, false, "", ""
	plan, err := esprom.PlanSecureBoot(p.ef)
	if err != nil {
		p.err = DescribeESP(err)
		return
	}
	p.plan = plan
}

// burn programs the confirmed plan, then reads the eFuses and the chip's
// security state again.
func (p *ESPPanel) burn(ctx app.Context, e app.Event) {
	ctx = p.ui
	if p.busy || p.plan == nil || !p.confirmed || p.client == nil {
		return
	}
	c, plan := p.client, p.plan
	pr, recordIt := p.profile()
	p.busy, p.err, p.msg = true, "", ""
	ctx.Async(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err := c.BurnEfuses(cctx, plan)
		var ef *esprom.Efuses
		var ci *esprom.ChipInfo
		if err == nil {
			ef, err = c.ReadEfuses(cctx)
		}
		if err == nil {
			ci, err = c.Detect(cctx)
		}
		rec, recErr := "", error(nil)
		if err == nil && recordIt {
			rec, recErr = p.record(cctx, pr, ci, ef)
		}
		ctx.Dispatch(func(app.Context) {
			p.busy, p.plan, p.confirmed = false, nil, false
			if err != nil {
				p.err = DescribeESP(err)
				return
			}
			p.ef, p.efuses, p.chip = ef, ef.Summary(), ci
			p.msg = "Burned: " + plan.What + "."
			if rec != "" {
				p.msg += " " + rec
			}
			if recErr != nil {
				p.err = "Burned, but the device registry did not record the board: " + kit.DescribeIdentity(recErr)
			}
		})
	})
}

// DescribeESP turns an error of the ESP32 ROM loader or its provisioning
// into the sentence a person sees.
func DescribeESP(err error) string {
	switch {
	case errors.Is(err, esprom.ErrNoSync):
		return "The board did not answer in download mode: hold BOOT while pressing RESET, release RESET then BOOT, and connect again."
	case errors.Is(err, browser.NoneChosen):
		return "No port was chosen."
	}
	return DescribeDevice(err)
}

func (p *ESPPanel) Render() app.UI {
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
				app.Dt().Text("Secure Boot"), app.Dd().ID("esp-secure-boot").Text(OnOffText(ci.SecureBoot)),
				app.Dt().Text("Flash encryption"), app.Dd().ID("esp-flash-encryption").Text(OnOffText(ci.FlashEncrypted)),
				app.Dt().Text("Secure Download Mode"), app.Dd().ID("esp-sdm").Text(OnOffText(ci.SecureDownload)),
			)
		}),
		app.If(ci != nil && p.efuses != "", func() app.UI {
			return app.Details().Open(true).Body(app.Summary().Text("eFuse summary"), app.Pre().ID("esp-efuses").Text(p.efuses))
		}),
		app.If(ci != nil && p.ef != nil, func() app.UI {
			return app.Div().ID("esp-anchors").Body(
				app.H3().Text("Trust anchors (eFuses)"),
				p.renderProfile(),
				app.Div().Class("form-inline").Body(
					kit.Pair(app.Label().For("esp-sb-key").Text("Secure Boot v2 public key"),
						app.Input().ID("esp-sb-key").DataSet("testid", "esp-sb-key").Type("file").Accept(".pem").Disabled(p.busy).OnChange(p.planDigest)),
					app.Button().ID("esp-plan-secure-boot").DataSet("testid", "esp-plan-secure-boot").Class("btn-ghost").Disabled(p.busy).
						Text("Enable Secure Boot…").OnClick(p.planSecureBoot),
				),
				app.Div().Class("form-actions").Body(
					app.Button().ID("esp-plan-fe-key").DataSet("testid", "esp-plan-fe-key").Class("btn-ghost").Disabled(p.busy).
						Text("Burn a new flash encryption key…").OnClick(p.planFlashKey),
					app.Button().ID("esp-plan-fe").DataSet("testid", "esp-plan-fe").Class("btn-ghost").Disabled(p.busy).
						Text("Enable flash encryption…").OnClick(p.planFlashEncryption),
				),
				app.If(p.plan != nil, func() app.UI { return p.renderPlan() }),
			)
		}),
		app.If(ci != nil, func() app.UI {
			return app.Div().Body(
				app.Div().Class("form-inline").Body(
					kit.Pair(app.Label().For("esp-file").Text("Image"),
						app.Input().ID("esp-file").DataSet("testid", "esp-file").Type("file").Accept(".bin").Disabled(p.busy).OnChange(p.pick)),
					kit.Pair(app.Label().For("esp-offset").Text("Offset"),
						app.Input().ID("esp-offset").DataSet("testid", "esp-offset").Type("text").Value(p.offset).Disabled(p.busy).
							OnInput(func(ctx app.Context, e app.Event) { p.offset = ctx.JSSrc().Get("value").String() })),
				),
				app.Label().Body(
					app.Input().ID("esp-encrypt").DataSet("testid", "esp-encrypt").Type("checkbox").Checked(p.encrypt).Disabled(p.busy).
						OnChange(func(ctx app.Context, e app.Event) { p.encrypt = ctx.JSSrc().Get("checked").Bool() }),
					app.Text(" Encrypt with the board's flash encryption key as it is written"),
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

// renderPlan shows an eFuse step and asks for its confirmation.
func (p *ESPPanel) renderPlan() app.UI {
	items := make([]app.UI, len(p.plan.Changes))
	for i, c := range p.plan.Changes {
		items[i] = app.Li().Text(c)
	}
	return app.Div().ID("esp-plan").DataSet("testid", "esp-plan").Class("banner banner-warn").Body(
		app.P().ID("esp-plan-what").Text("Step: "+p.plan.What+". These eFuses change:"),
		app.Ul().ID("esp-plan-changes").Body(items...),
		app.P().Text(Irreversible),
		app.Label().Body(
			app.Input().ID("esp-confirm").DataSet("testid", "esp-confirm").Type("checkbox").Checked(p.confirmed).
				OnChange(func(ctx app.Context, e app.Event) { p.confirmed = ctx.JSSrc().Get("checked").Bool() }),
			app.Text(" I understand this board is changed for good"),
		),
		app.Button().ID("esp-burn").DataSet("testid", "esp-burn").Class("btn-danger").Disabled(p.busy || !p.confirmed).
			Text("Burn").OnClick(p.burn),
	)
}

// OnOffText writes an eFuse flag for people: "on" or "off".
func OnOffText(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
