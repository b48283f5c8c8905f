package devices

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/devices/dfu"
	"trustforge/devices/webusb"
	"trustforge/wasm/state"
	"trustforge/wasm/ui/board"
	"trustforge/wasm/ui/kit"
)

// dfuPanel finds the USB DFU devices among the WebUSB devices granted to
// the console (a DFU interface: class 0xfe, subclass 0x01), shows their
// alternate settings and DfuSe memory layouts, writes files and releases
// to them with read back, resets a Zephyr board to test-boot a new slot,
// starts an STM32's application and sets its read-out protection.
type dfuPanel struct {
	app.Compo

	// App is the tab's shared state: releases are opened with its vault.
	App *state.App
	// Kit is shared with the other device panels.
	Kit *board.Kit

	devs     []*webusb.Device
	sess     *board.DFUSession
	alt      int    // index into sess.targets()
	addr     string // DfuSe address for raw files
	fileName string
	data     []byte
	fileDesc string
	busy     string // what runs, or ""
	stage    dfu.Stage
	done     int64
	total    int64
	rdp      string // "", or the RDP level read
	confirm  bool   // the "cannot be undone" box is ticked
	cancel   context.CancelFunc
	msg, err string

	stopWatch context.CancelFunc
	ui        app.Context
}

func (p *dfuPanel) OnMount(ctx app.Context) {
	p.ui = ctx
	if !app.IsClient {
		return
	}
	wctx, cancel := context.WithCancel(context.Background())
	p.stopWatch = cancel
	p.refresh()
	ctx.Async(func() {
		events, err := webusb.Devices.Watch(wctx)
		if err != nil {
			return
		}
		for range events {
			p.refresh()
		}
	})
}

func (p *dfuPanel) OnDismount() {
	if p.stopWatch != nil {
		p.stopWatch()
	}
	if p.cancel != nil {
		p.cancel()
	}
	if p.sess != nil {
		p.sess.Close()
	}
}

// refresh lists the granted devices that have a DFU interface.
func (p *dfuPanel) refresh() {
	ctx := p.ui
	ctx.Async(func() {
		all, _ := webusb.Devices.Granted(ctx)
		var devs []*webusb.Device
		for _, d := range all {
			if d.Info().IsDFU() {
				devs = append(devs, d)
			}
		}
		ctx.Dispatch(func(app.Context) { p.devs = devs })
	})
}

// run does f off the UI goroutine with a cancellable context, then shows
// its message or error.
func (p *dfuPanel) run(what string, f func(ctx context.Context) (string, error)) {
	ctx := p.ui
	if p.busy != "" {
		return
	}
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	p.busy, p.cancel, p.msg, p.err, p.done, p.total = what, cancel, "", "", 0, 0
	ctx.Async(func() {
		msg, err := f(cctx)
		cancelled := errors.Is(cctx.Err(), context.Canceled)
		cancel()
		ctx.Dispatch(func(app.Context) {
			p.busy, p.cancel = "", nil
			if err != nil {
				p.err = describeDFU(err)
				if cancelled {
					p.err = "Cancelled: the device keeps what it had before this write (a slot is only booted once complete)."
				}
				return
			}
			p.msg = msg
		})
	})
}

// open opens the device whose button was clicked (its index is read from
// the button at event time, never captured).
func (p *dfuPanel) open(ctx app.Context, e app.Event) {
	i, err := strconv.Atoi(ctx.JSSrc().Get("dataset").Get("index").String())
	if err != nil || i < 0 || i >= len(p.devs) {
		return
	}
	dev := p.devs[i]
	if p.sess != nil {
		p.sess.Close()
		p.sess = nil
	}
	p.rdp, p.confirm, p.alt = "", false, 0
	p.run("open", func(c context.Context) (string, error) {
		s, err := board.OpenDFU(c, dev)
		if err != nil {
			return "", err
		}
		rdp := ""
		if _, ok := s.OptionBytes(); ok {
			if lvl, err := s.RDP(c); err == nil {
				rdp = lvl.String()
			}
		}
		p.ui.Dispatch(func(app.Context) { p.sess, p.rdp = s, rdp })
		return "", nil
	})
}

func (p *dfuPanel) pickAlt(ctx app.Context, e app.Event) {
	if n, err := strconv.Atoi(ctx.JSSrc().Get("value").String()); err == nil {
		p.alt = n
	}
}

func (p *dfuPanel) pickFile(ctx app.Context, e app.Event) {
	files, err := kit.InputFiles("dfu-file")
	if err != nil || len(files) == 0 {
		return
	}
	f := files[0]
	p.fileName, p.data, p.fileDesc = f.Name, nil, ""
	p.run("read", func(c context.Context) (string, error) {
		data, desc, err := p.readFile(c, f)
		if err != nil {
			return "", err
		}
		p.ui.Dispatch(func(app.Context) { p.data, p.fileDesc = data, desc })
		return "", nil
	})
}

// readFile reads a picked file: a release (.tfb) is verified and
// decrypted as the upload panel does; an MCUboot image is checked; a .dfu
// file must carry a valid suffix; HEX and raw files are taken as they are.
func (p *dfuPanel) readFile(ctx context.Context, f kit.PickedFile) ([]byte, string, error) {
	lower := strings.ToLower(f.Name)
	if strings.HasSuffix(lower, ".tfb") || strings.HasSuffix(lower, ".signed") || strings.HasSuffix(lower, ".img") {
		img, _, desc, err := (&uploadPanel{App: p.App, Kit: p.Kit}).open(ctx, f)
		return img, desc, err
	}
	data, err := f.Read(ctx, board.MaxUploadFile, nil)
	if err != nil {
		return nil, "", err
	}
	if strings.HasSuffix(lower, ".dfu") {
		df, err := dfu.ParseFile(data)
		if err != nil {
			return nil, "", err
		}
		kind := "plain DFU file"
		if df.DfuSe() {
			kind = fmt.Sprintf("DfuSe file, %d target(s)", len(df.Targets))
		}
		return data, fmt.Sprintf("%s for %04x:%04x, suffix CRC valid", kind, df.VendorID, df.ProductID), nil
	}
	if img, _, desc, err := (&uploadPanel{App: p.App, Kit: p.Kit}).open(ctx, f); err == nil {
		return img, desc, nil
	}
	return data, fmt.Sprintf("%s, %s", f.Name, kit.SizeText(int64(len(data)))), nil
}

func (p *dfuPanel) write(ctx app.Context, e app.Event) {
	s := p.sess
	if s == nil || p.data == nil || p.alt >= len(s.Targets()) {
		return
	}
	ts := s.Targets()
	alt, data := ts[p.alt], p.data
	var addr uint32
	if l, err := alt.Layout(); err == nil && len(l.Sectors) > 0 {
		addr = l.Sectors[0].Addr
	}
	if p.addr != "" {
		n, err := strconv.ParseUint(p.addr, 0, 32)
		if err != nil {
			p.err = "The address " + strconv.Quote(p.addr) + " is not a number (use 0x for hex)."
			return
		}
		addr = uint32(n)
	}
	p.run("write", func(c context.Context) (string, error) {
		return s.Write(c, alt, data, addr, func(st dfu.Stage, done, total int64) {
			p.ui.Dispatch(func(app.Context) { p.stage, p.done, p.total = st, done, total })
		})
	})
}

func (p *dfuPanel) readBack(ctx app.Context, e app.Event) {
	s := p.sess
	p.run("verify", func(c context.Context) (string, error) { return s.ReadBack(c) })
}

func (p *dfuPanel) reset(ctx app.Context, e app.Event) {
	s := p.sess
	p.run("reset", func(c context.Context) (string, error) {
		if err := s.Reset(c); err != nil {
			return "", err
		}
		p.ui.Dispatch(func(app.Context) { p.sess = nil })
		return "The board restarts: MCUboot test-boots the new image. Connect to it over USB above and confirm it once it runs well; an unconfirmed image is reverted at the next reset.", nil
	})
}

func (p *dfuPanel) leave(ctx app.Context, e app.Event) {
	s := p.sess
	p.run("leave", func(c context.Context) (string, error) {
		if err := s.Leave(c); err != nil {
			return "", err
		}
		p.ui.Dispatch(func(app.Context) { p.sess = nil })
		return "The device left DFU mode: its application starts.", nil
	})
}

func (p *dfuPanel) setRDP(ctx app.Context, e app.Event) {
	s := p.sess
	if !p.confirm {
		return
	}
	p.run("rdp", func(c context.Context) (string, error) {
		if err := s.SetRDP1(c); err != nil {
			return "", err
		}
		lvl, err := s.RDP(c)
		if err != nil {
			return "", err
		}
		p.ui.Dispatch(func(app.Context) { p.rdp, p.confirm = lvl.String(), false })
		return fmt.Sprintf("Read-out protection is now %v: the flash can no longer be read through the bootloader or a debugger.", lvl), nil
	})
}

func (p *dfuPanel) stop(ctx app.Context, e app.Event) {
	if p.cancel != nil {
		p.cancel()
	}
}
