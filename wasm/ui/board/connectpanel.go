package board

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/devices/webserial"
	"trustforge/devices/webusb"
	"trustforge/devices/wsboard"
	"trustforge/wasm/errtext"
	"trustforge/wasm/link"
	"trustforge/wasm/ui/kit"
)

// baudRates are the serial speeds offered; 115200 is Zephyr's default.
var baudRates = []int{9600, 57600, 115200, 230400, 460800, 921600, 1000000}

// ConnectPanel connects the console to a board: a Web Serial port already
// granted to this origin (by an earlier choice or an enterprise policy),
// one picked in the browser's chooser, a WebUSB device, or the server's
// simulated board. It shows the link's state, unplugged included.
type ConnectPanel struct {
	app.Compo

	// Kit holds the link.
	Kit *Kit

	status   link.Status
	ports    []*webserial.Port
	devs     []*webusb.Device
	baud     int
	busy     bool
	choosing context.CancelFunc // cancels a chooser that never answers
	err      string

	stopLink  func()
	stopWatch context.CancelFunc

	// ui is the component's own context, from OnMount: work started by an
	// event handler dispatches through it, because go-app drops the
	// dispatches of a handler's context once its element is gone (a button
	// that the next screen removes).
	ui app.Context
}

func (p *ConnectPanel) OnMount(ctx app.Context) {
	p.ui = ctx
	if !app.IsClient {
		return
	}
	if p.baud == 0 {
		p.baud = 115200
	}
	p.status = p.Kit.Link.Status()
	if p.status.Baud != 0 {
		p.baud = p.status.Baud
	}
	p.stopLink = p.Kit.Link.Subscribe(func() {
		ctx.Dispatch(func(app.Context) { p.status = p.Kit.Link.Status() })
	})
	wctx, cancel := context.WithCancel(context.Background())
	p.stopWatch = cancel
	p.refresh(ctx)
	ctx.Async(func() {
		// Ports plugged in or granted while the page is open.
		events, err := webserial.Ports.Watch(wctx)
		if err != nil {
			return
		}
		for range events {
			p.refresh(ctx)
		}
	})
	ctx.Async(func() {
		// USB devices too: a DFU board re-enumerates as a new device.
		events, err := webusb.Devices.Watch(wctx)
		if err != nil {
			return
		}
		for range events {
			p.refresh(ctx)
		}
	})
}

func (p *ConnectPanel) OnDismount() {
	if p.stopLink != nil {
		p.stopLink()
	}
	if p.stopWatch != nil {
		p.stopWatch()
	}
	if p.choosing != nil {
		p.choosing()
	}
}

// refresh lists the granted ports and devices, off the UI goroutine.
func (p *ConnectPanel) refresh(ctx app.Context) {
	ctx = p.ui
	ctx.Async(func() {
		ports, _ := webserial.Ports.Granted(ctx)
		devs, _ := webusb.Devices.Granted(ctx)
		ctx.Dispatch(func(app.Context) { p.ports, p.devs = ports, devs })
	})
}

// connect runs f, a Link.ConnectX call, off the UI goroutine.
func (p *ConnectPanel) connect(ctx app.Context, f func(context.Context) error) {
	ctx = p.ui
	if p.busy {
		return
	}
	p.busy, p.err = true, ""
	ctx.Async(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		err := f(cctx)
		ctx.Dispatch(func(app.Context) {
			p.busy = false
			if err != nil {
				p.err = DescribeDevice(err)
			}
		})
	})
}

func (p *ConnectPanel) connectPort(ctx app.Context, port *webserial.Port) {
	baud := p.baud
	p.connect(ctx, func(c context.Context) error { return p.Kit.Link.ConnectSerial(c, port, baud) })
}

// choosePort shows the browser's port chooser. It must start from the
// click: requestPort needs the click's user activation, which lasts a few
// seconds, so the goroutine calls it at once.
func (p *ConnectPanel) choosePort(ctx app.Context, e app.Event) {
	baud := p.baud
	p.choose(func(cctx context.Context) error {
		port, err := webserial.Ports.Request(cctx)
		if err == nil {
			err = p.Kit.Link.ConnectSerial(cctx, port, baud)
		}
		return err
	})
}

func (p *ConnectPanel) chooseUSB(ctx app.Context, e app.Event) {
	p.choose(func(cctx context.Context) error {
		dev, err := webusb.Devices.Request(cctx)
		if err == nil {
			err = p.Kit.Link.ConnectUSB(cctx, dev)
		}
		return err
	})
}

// choose runs connect, which shows a chooser and connects to what the
// person picks, off the UI goroutine; the panel's cancel button ends it.
func (p *ConnectPanel) choose(connect func(context.Context) error) {
	ctx := p.ui
	if p.busy || p.choosing != nil {
		return
	}
	cctx, cancel := context.WithCancel(context.Background())
	p.choosing, p.err = cancel, ""
	ctx.Async(func() {
		err := connect(cctx)
		ctx.Dispatch(func(app.Context) {
			p.choosing = nil
			if err != nil && !errors.Is(err, context.Canceled) {
				p.err = DescribeDevice(err)
			}
		})
		cancel()
		p.refresh(ctx)
	})
}

func (p *ConnectPanel) cancelChooser(ctx app.Context, e app.Event) {
	if p.choosing != nil {
		p.choosing()
	}
}

func (p *ConnectPanel) connectSimulated(ctx app.Context, e app.Event) {
	u := app.Window().URL()
	url, err := wsboard.URL(u.Scheme + "://" + u.Host)
	if err != nil {
		p.err = DescribeDevice(err)
		return
	}
	p.connect(ctx, func(c context.Context) error { return p.Kit.Link.ConnectSimulated(c, url) })
}

func (p *ConnectPanel) disconnect(ctx app.Context, e app.Event) {
	ctx = p.ui
	ctx.Async(func() {
		p.Kit.Link.Disconnect()
		p.refresh(ctx)
	})
}

func (p *ConnectPanel) Render() app.UI {
	st := p.status
	return app.Section().ID("connect").Class("panel").Aria("label", "Connection").Body(
		app.H2().Text("Connection"),
		app.P().ID("link-status").DataSet("testid", "link-status").DataSet("state", string(st.State)).
			DataSet("kind", string(st.Kind)).Aria("live", "polite").Body(
			app.If(st.Kind == link.Simulated, func() app.UI {
				return app.Span().ID("link-simulated").Class("badge badge-sim").Title("Not a real board: a simulator on the server").Text("SIMULATED")
			}),
			app.Text(linkText(st)),
		),
		app.If(st.State == link.Unplugged, func() app.UI {
			return app.Div().ID("link-unplugged").DataSet("testid", "link-unplugged").Class("banner banner-warn").
				Aria("live", "assertive").Body(
				app.Strong().Text("Board unplugged. "),
				app.Span().Text("Plug it back in: the console reconnects by itself, and an interrupted upload goes on where the board stopped."),
			)
		}),
		app.If(st.State == link.Failed && st.Err != nil, func() app.UI {
			return app.P().ID("link-error").DataSet("testid", "link-error").Class("error").Text(DescribeDevice(st.Err))
		}),
		app.If(st.State == link.Connected || st.State == link.Unplugged, func() app.UI {
			return app.Button().ID("link-disconnect").DataSet("testid", "link-disconnect").Class("btn-ghost").
				Text("Disconnect").OnClick(p.disconnect)
		}).Else(func() app.UI {
			return p.renderChoices()
		}),
		app.If(p.err != "", func() app.UI {
			return app.P().ID("connect-error").DataSet("testid", "connect-error").Class("error").Aria("live", "assertive").Text(p.err)
		}),
	)
}

func (p *ConnectPanel) renderChoices() app.UI {
	busy := p.busy || p.choosing != nil || p.status.State == link.Connecting
	return app.Div().Class("connect-choices").Body(
		app.Div().Class("form-inline").Body(
			kit.Pair(app.Label().For("serial-baud").Text("Serial speed"),
				app.Select().ID("serial-baud").DataSet("testid", "serial-baud").
					OnChange(func(ctx app.Context, e app.Event) {
						if n, err := strconv.Atoi(ctx.JSSrc().Get("value").String()); err == nil {
							p.baud = n
						}
					}).
					Body(app.Range(baudRates).Slice(func(i int) app.UI {
						b := baudRates[i]
						return app.Option().Value(strconv.Itoa(b)).Selected(b == p.baud).Text(strconv.Itoa(b) + " baud")
					}))),
		),
		app.If(len(p.ports) > 0, func() app.UI {
			return app.Ul().ID("granted-ports").Class("choices").Body(app.Range(p.ports).Slice(func(i int) app.UI {
				port := p.ports[i]
				id := fmt.Sprintf("port-%d", i)
				return app.Li().Body(app.Button().ID(id).DataSet("testid", "granted-port").Disabled(busy).
					Text("Connect to "+port.Info().String()).
					OnClick(func(ctx app.Context, e app.Event) { p.connectPort(ctx, port) }, app.EventScope(fmt.Sprintf("%p", port))))
			}))
		}),
		app.If(len(p.devs) > 0, func() app.UI {
			return app.Ul().ID("granted-usb").Class("choices").Body(app.Range(p.devs).Slice(func(i int) app.UI {
				dev := p.devs[i]
				return app.Li().Body(app.Button().ID(fmt.Sprintf("usbdev-%d", i)).DataSet("testid", "granted-usb").Disabled(busy).
					Text("Connect to "+dev.Info().String()+" over USB").
					OnClick(func(ctx app.Context, e app.Event) {
						p.connect(ctx, func(c context.Context) error { return p.Kit.Link.ConnectUSB(c, dev) })
					}, app.EventScope(fmt.Sprintf("%p", dev))))
			}))
		}),
		app.Div().Class("form-actions").Body(
			app.Button().ID("serial-choose").DataSet("testid", "serial-choose").Class("btn-primary").Disabled(busy).
				Text("Choose a serial port…").OnClick(p.choosePort),
			app.Button().ID("usb-choose").DataSet("testid", "usb-choose").Disabled(busy).
				Text("Choose a USB device…").OnClick(p.chooseUSB),
			app.Button().ID("sim-connect").DataSet("testid", "sim-connect").Disabled(busy).
				Title("A board simulated by the server (trustforge serve --demo-board): no hardware needed").
				Text("Try the simulated board").OnClick(p.connectSimulated),
		),
		app.If(p.choosing != nil, func() app.UI {
			return app.P().ID("chooser-waiting").Class("muted").Body(
				app.Text("Waiting for the browser's chooser… "),
				app.Button().ID("chooser-cancel").DataSet("testid", "chooser-cancel").Class("btn-small").
					Text("Cancel").OnClick(p.cancelChooser),
			)
		}),
	)
}

// linkText describes the link's state in a sentence.
func linkText(st link.Status) string {
	switch st.State {
	case link.Connecting:
		return "Connecting to " + st.Label + "…"
	case link.Connected:
		if st.Baud > 0 {
			return fmt.Sprintf("Connected to %s at %d baud.", st.Label, st.Baud)
		}
		return "Connected to " + st.Label + "."
	case link.Unplugged:
		return st.Label + " was unplugged."
	case link.Failed:
		return "The connection to " + st.Label + " failed."
	}
	return "No board connected."
}

// DescribeDevice is describe for board errors, with what to do.
func DescribeDevice(err error) string { return errtext.Device(err) }
