package devices

import (
	"fmt"
	"strconv"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/devices/dfu"
	"trustforge/wasm/ui/kit"
)

func (p *dfuPanel) Render() app.UI {
	busy := p.busy != ""
	return app.Section().ID("dfu").Class("panel").DataSet("testid", "dfu").DataSet("busy", p.busy).Aria("label", "USB DFU").Body(
		app.H2().Text("USB DFU devices"),
		app.P().Class("muted").Text("Boards and bootloaders that speak USB DFU (Zephyr's DFU class, STM32 system bootloaders): write an image into a slot or at an address, read it back, and lock an STM32's flash."),
		app.If(len(p.devs) == 0, func() app.UI {
			return app.P().ID("dfu-none").Class("muted").Text("No DFU device is granted to this console: choose one with “Choose a USB device…” above.")
		}).Else(func() app.UI {
			return app.Ul().ID("dfu-devices").Class("choices").Body(app.Range(p.devs).Slice(func(i int) app.UI {
				return app.Li().Body(app.Button().ID(fmt.Sprintf("dfu-open-%d", i)).DataSet("testid", "dfu-open").
					DataSet("index", i).Disabled(busy).
					Text("Open " + p.devs[i].Info().String() + " for DFU").OnClick(p.open))
			}))
		}),
		app.If(p.busy == "open", func() app.UI {
			return app.P().ID("dfu-opening").Class("muted").Text("Opening the device (a board running its application is switched to DFU mode)…")
		}),
		app.If(p.sess != nil, p.renderSession),
		app.If(p.msg != "", func() app.UI {
			return app.P().ID("dfu-message").DataSet("testid", "dfu-message").Class("ok").Aria("live", "polite").Text(p.msg)
		}),
		app.If(p.err != "", func() app.UI {
			return app.P().ID("dfu-error").DataSet("testid", "dfu-error").Class("error").Aria("live", "assertive").Text(p.err)
		}),
	)
}

func (p *dfuPanel) renderSession() app.UI {
	s := p.sess
	busy := p.busy != ""
	d := s.Desc
	name := d.ProductName
	if name == "" {
		name = "DFU device"
	}
	kind := "DFU 1.1"
	if s.DfuSe() {
		kind = "ST DfuSe"
	}
	ts := s.Targets()
	_, hasOB := s.OptionBytes()
	return app.Div().ID("dfu-session").Body(
		app.P().ID("dfu-device").DataSet("testid", "dfu-device").DataSet("mode", d.Mode()).DataSet("kind", kind).
			Text(fmt.Sprintf("%s (%04x:%04x), serial %s: in DFU mode, %s.", name, d.VendorID, d.ProductID, d.SerialNumber, kind)),
		app.Table().ID("dfu-alts").Class("table").Body(
			app.THead().Body(app.Tr().Body(app.Th().Text("Alt"), app.Th().Text("Name"), app.Th().Text("Memory"), app.Th().Text("Transfer"))),
			app.TBody().Body(app.Range(d.DFU()).Slice(func(i int) app.UI {
				a := d.DFU()[i]
				mem := "whole image (slot)"
				if l, err := a.Layout(); err == nil {
					mem = layoutSummary(l)
				}
				xfer := ""
				if a.Functional != nil {
					xfer = kit.SizeText(int64(a.Functional.TransferSize)) + " blocks"
				}
				return app.Tr().ID(fmt.Sprintf("dfu-alt-%d", a.Alternate)).DataSet("testid", "dfu-alt").DataSet("name", a.Name).Body(
					app.Td().Text(strconv.Itoa(int(a.Alternate))), app.Td().Text(a.Name), app.Td().Text(mem), app.Td().Text(xfer))
			})),
		),
		app.H3().Text("Write"),
		app.Div().Class("form-inline").Body(
			kit.Pair(app.Label().For("dfu-target").Text("Into"),
				app.Select().ID("dfu-target").DataSet("testid", "dfu-target").Disabled(busy).OnChange(p.pickAlt).
					Body(app.Range(ts).Slice(func(i int) app.UI {
						return app.Option().Value(strconv.Itoa(i)).Selected(i == p.alt).Text(fmt.Sprintf("%d: %s", ts[i].Alternate, ts[i].Name))
					}))),
			kit.Pair(app.Label().For("dfu-file").Text("File"),
				app.Input().ID("dfu-file").DataSet("testid", "dfu-file").Type("file").Accept(".bin,.hex,.dfu,.tfb,.img,.signed").
					Disabled(busy).OnChange(p.pickFile)),
			app.If(s.DfuSe(), func() app.UI {
				return app.Span().Body(
					app.Label().For("dfu-address").Text("Address (raw files)"),
					app.Input().ID("dfu-address").DataSet("testid", "dfu-address").Placeholder("0x08000000").Value(p.addr).
						OnChange(func(ctx app.Context, e app.Event) { p.addr = ctx.JSSrc().Get("value").String() }),
				)
			}),
		),
		app.If(p.fileDesc != "", func() app.UI {
			return app.P().ID("dfu-file-info").DataSet("testid", "dfu-file-info").Text(p.fileDesc)
		}),
		app.Div().Class("form-actions").Body(
			app.Button().ID("dfu-write").DataSet("testid", "dfu-write").Disabled(busy || p.data == nil).Text("Write and read back").OnClick(p.write),
			app.If(busy && p.busy != "open", func() app.UI {
				return app.Button().ID("dfu-cancel").DataSet("testid", "dfu-cancel").Class("btn-ghost").Text("Cancel").OnClick(p.stop)
			}),
			app.If(s.DfuSe(), func() app.UI {
				return app.Button().ID("dfu-readback").DataSet("testid", "dfu-readback").Class("btn-ghost").Disabled(busy || len(s.Written) == 0).
					Text("Read back and compare").OnClick(p.readBack)
			}),
			app.If(!s.DfuSe(), func() app.UI {
				return app.Button().ID("dfu-reset").DataSet("testid", "dfu-reset").Class("btn-ghost").Disabled(busy).
					Text("Reset to test-boot").OnClick(p.reset)
			}).Else(func() app.UI {
				return app.Button().ID("dfu-leave").DataSet("testid", "dfu-leave").Class("btn-ghost").Disabled(busy).
					Text("Leave DFU mode and start the application").OnClick(p.leave)
			}),
		),
		app.If(p.busy == "write" || p.busy == "verify", func() app.UI {
			label := "Writing"
			if p.stage == dfu.StageVerify {
				label = "Reading back"
			}
			return app.Div().ID("dfu-progress").DataSet("testid", "dfu-progress").DataSet("done", p.done).DataSet("total", p.total).Class("progress").Body(
				app.Progress().Max(max(p.total, 1)).Value(p.done).Aria("label", label),
				app.Span().Class("progress-text").Text(fmt.Sprintf("%s: %s of %s", label, kit.SizeText(p.done), kit.SizeText(p.total))),
			)
		}),
		app.If(hasOB, func() app.UI {
			return app.Div().ID("dfu-protection").Body(
				app.H3().Text("Read-out protection"),
				app.P().ID("dfu-rdp").DataSet("testid", "dfu-rdp").DataSet("level", p.rdp).Text("Now: "+p.rdp+"."),
				app.P().Class("banner banner-warn").Text("RDP level 1 stops the flash being read through the bootloader or a debugger. It cannot be undone without erasing the whole flash."),
				app.Div().Class("form-inline").Body(
					kit.Pair(app.Input().ID("dfu-rdp-confirm").DataSet("testid", "dfu-rdp-confirm").Type("checkbox").Checked(p.confirm).Disabled(busy).
						OnChange(func(ctx app.Context, e app.Event) { p.confirm = ctx.JSSrc().Get("checked").Bool() }),
						app.Label().For("dfu-rdp-confirm").Text("I understand this cannot be undone")),
					app.Button().ID("dfu-rdp-set").DataSet("testid", "dfu-rdp-set").Class("btn-danger").Disabled(busy || !p.confirm).
						Text("Set RDP level 1").OnClick(p.setRDP),
				),
			)
		}),
	)
}
