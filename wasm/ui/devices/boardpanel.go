package devices

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/devices/fwupdate"
	"trustforge/devices/smp"
	"trustforge/wasm/link"
	"trustforge/wasm/ui/board"
	"trustforge/wasm/ui/kit"
)

// boardPanel shows what the connected board says of itself — bootloader,
// SMP buffers, OS and hardware, and its slots with version, hash and flags —
// and offers the slot actions: test, confirm, reset, erase.
type boardPanel struct {
	app.Compo

	// Kit holds the link.
	Kit *board.Kit

	status   link.Status
	readFor  time.Time // Since of the link status the summary was read for
	summary  *fwupdate.Summary
	busy     string // the action in progress
	stale    bool   // the board changed during the action: read it after
	erasing  bool   // asking to confirm an erase
	msg, err string

	stopLink  func()
	stopBoard func()

	// ui is the component's own context, from OnMount: work started by an
	// event handler dispatches through it, because go-app drops the
	// dispatches of a handler's context once its element is gone (a button
	// that the next screen removes).
	ui app.Context
}

func (p *boardPanel) OnMount(ctx app.Context) {
	p.ui = ctx
	if !app.IsClient {
		return
	}
	p.status = p.Kit.Link.Status()
	p.stopLink = p.Kit.Link.Subscribe(func() {
		ctx.Dispatch(func(ctx app.Context) { p.linkChanged(ctx) })
	})
	// Another panel uploaded or marked an image: read the slots again.
	p.stopBoard = p.Kit.Board.Add(func() {
		ctx.Dispatch(func(ctx app.Context) { p.read(ctx) })
	})
	p.linkChanged(ctx)
}

func (p *boardPanel) OnDismount() {
	if p.stopLink != nil {
		p.stopLink()
	}
	if p.stopBoard != nil {
		p.stopBoard()
	}
}

// linkChanged reads the board once per new connection.
func (p *boardPanel) linkChanged(ctx app.Context) {
	p.status = p.Kit.Link.Status()
	if p.status.State != link.Connected {
		if p.status.State == link.Idle || p.status.State == link.Failed {
			p.summary = nil
		}
		return
	}
	if p.readFor.Equal(p.status.Since) {
		return
	}
	p.readFor = p.status.Since
	p.read(ctx)
}

// read asks the board about itself, off the UI goroutine.
func (p *boardPanel) read(ctx app.Context) {
	ctx = p.ui
	if p.busy != "" {
		p.stale = true
		return
	}
	p.run(ctx, "read", func(c context.Context, cl *smp.Client) (string, error) {
		s, err := fwupdate.ReadSummary(c, cl)
		if err == nil {
			ctx.Dispatch(func(app.Context) { p.summary = s })
		}
		return "", err
	})
}

// run does one board action off the UI goroutine, then reads the board
// again (unless the action was the read).
func (p *boardPanel) run(ctx app.Context, name string, f func(context.Context, *smp.Client) (string, error)) {
	ctx = p.ui
	if p.busy != "" {
		return
	}
	p.busy, p.msg, p.err, p.erasing = name, "", "", false
	ctx.Async(func() {
		cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		cl, err := p.Kit.Link.Client()
		msg := ""
		if err == nil {
			msg, err = f(cctx, cl)
		}
		var s *fwupdate.Summary
		if err == nil && name != "read" {
			s, err = fwupdate.ReadSummary(cctx, cl)
		}
		ctx.Dispatch(func(ctx app.Context) {
			p.busy = ""
			if s != nil {
				p.summary = s
			}
			if p.stale {
				p.stale = false
				defer p.read(ctx)
			}
			if err != nil {
				p.err = board.DescribeDevice(err)
				return
			}
			p.msg = msg
		})
	})
}

func (p *boardPanel) test(ctx app.Context, img smp.SlotImage) {
	p.run(ctx, "test", func(c context.Context, cl *smp.Client) (string, error) {
		if err := fwupdate.TestBoot(c, cl, img.Hash); err != nil {
			return "", err
		}
		return "Version " + kit.VersionText(img.Version) + " will boot once at the next reset. Reset the board to try it.", nil
	})
}

func (p *boardPanel) confirm(ctx app.Context, e app.Event) {
	p.run(ctx, "confirm", func(c context.Context, cl *smp.Client) (string, error) {
		run, err := fwupdate.Confirm(c, cl, 0)
		if err != nil {
			return "", err
		}
		return "Version " + kit.VersionText(run.Version) + " is confirmed: it stays after resets.", nil
	})
}

func (p *boardPanel) reset(ctx app.Context, e app.Event) {
	var booted func([]smp.SlotImage) bool
	if p.summary != nil && !fwupdate.NothingPending(p.summary.Slots) {
		booted = fwupdate.NothingPending
	}
	p.run(ctx, "reset", func(c context.Context, cl *smp.Client) (string, error) {
		if err := fwupdate.Reset(c, cl, 0, booted); err != nil {
			return "", err
		}
		return "The board restarted.", nil
	})
}

func (p *boardPanel) erase(ctx app.Context, e app.Event) {
	if !p.erasing {
		p.erasing = true
		return
	}
	p.run(ctx, "erase", func(c context.Context, cl *smp.Client) (string, error) {
		if err := cl.EraseSlot(c, 1); err != nil {
			return "", err
		}
		return "Slot 1 is erased.", nil
	})
}

func (p *boardPanel) Render() app.UI {
	if p.status.State != link.Connected && p.summary == nil {
		return app.Section().ID("board").Class("panel").Hidden(true)
	}
	s := p.summary
	busy := p.busy != "" || p.status.State != link.Connected
	return app.Section().ID("board").Class("panel").DataSet("testid", "board").DataSet("busy", p.busy).Aria("label", "Board").Body(
		app.H2().Text("Board"),
		app.If(s == nil, func() app.UI {
			return app.P().ID("board-reading").Class("muted").Text("Reading the board…")
		}).Else(func() app.UI {
			return app.Div().Body(
				app.Dl().ID("board-facts").Class("facts").Body(
					fact("board-bootloader", "Bootloader", bootText(s)),
					fact("board-params", "MCUmgr buffers", paramsText(s.Params)),
					fact("board-hardware", "Hardware", orUnknown(s.Hardware)),
					fact("board-node", "Name", orUnknown(s.Node)),
					fact("board-os", "OS / app", orUnknown(s.OS)),
				),
				app.If(len(s.Notes) > 0, func() app.UI {
					return app.P().ID("board-notes").Class("muted").Text("The board did not answer: " + joinWords(s.Notes) + ".")
				}),
				p.renderSlots(s, busy),
			)
		}),
		app.Div().Class("form-actions").Body(
			app.Button().ID("board-refresh").DataSet("testid", "board-refresh").Class("btn-ghost").Disabled(busy).
				Text("Refresh").OnClick(func(ctx app.Context, e app.Event) { p.read(ctx) }),
			app.Button().ID("board-reset").DataSet("testid", "board-reset").Disabled(busy).
				Text("Reset").OnClick(p.reset),
			app.Button().ID("slot-1-erase").DataSet("testid", "slot-1-erase").Class("btn-danger").Disabled(busy).
				Text(map[bool]string{false: "Erase slot 1", true: "Really erase slot 1?"}[p.erasing]).OnClick(p.erase),
		),
		app.If(p.busy != "", func() app.UI {
			return app.P().ID("board-busy").Class("muted").Text(busyText(p.busy))
		}),
		app.If(p.msg != "", func() app.UI {
			return app.P().ID("board-message").DataSet("testid", "board-message").Class("ok").Aria("live", "polite").Text(p.msg)
		}),
		app.If(p.err != "", func() app.UI {
			return app.P().ID("board-error").DataSet("testid", "board-error").Class("error").Aria("live", "assertive").Text(p.err)
		}),
	)
}

func (p *boardPanel) renderSlots(s *fwupdate.Summary, busy bool) app.UI {
	if len(s.Slots) == 0 {
		return app.P().ID("slots-empty").Class("muted").Text("No image in any slot: the board is waiting in its bootloader.")
	}
	return app.Table().ID("slots").Class("table").Body(
		app.THead().Body(app.Tr().Body(
			app.Th().Text("Image"), app.Th().Text("Slot"), app.Th().Text("Version"), app.Th().Text("Hash"),
			app.Th().Text("State"), app.Th().Text("Actions"),
		)),
		app.TBody().Body(app.Range(s.Slots).Slice(func(i int) app.UI {
			sl := s.Slots[i]
			id := fmt.Sprintf("slot-%d-%d", sl.Image, sl.Slot)
			return app.Tr().ID(id).DataSet("testid", "slot-row").DataSet("slot", sl.Slot).DataSet("version", sl.Version).
				DataSet("flags", sl.Flags()).Body(
				app.Td().Text(sl.Image),
				app.Td().Text(sl.Slot),
				app.Td().Class("version").Text(kit.VersionText(sl.Version)),
				app.Td().Body(app.Code().Class("fingerprint").Title(hex.EncodeToString(sl.Hash)).Text(shortHash(sl.Hash))),
				app.Td().Body(flagBadges(sl)...),
				kit.ActionsCell(
					app.If(!sl.Active && !sl.Pending && sl.Bootable && len(sl.Hash) > 0, func() app.UI {
						return app.Button().ID(id+"-test").DataSet("testid", "slot-test").Class("btn-small").Disabled(busy).
							Text("Test at next reset").OnClick(func(ctx app.Context, e app.Event) { p.test(ctx, sl) }, app.EventScope(sl.Image, sl.Slot, hex.EncodeToString(sl.Hash)))
					}),
					app.If(sl.Active && !sl.Confirmed, func() app.UI {
						return app.Button().ID("confirm-running").DataSet("testid", "confirm-running").Class("btn-small").Disabled(busy).
							Text("Confirm").OnClick(p.confirm)
					}),
				),
			)
		})),
	)
}

func fact(id, name, value string) app.UI {
	return app.Div().Class("fact").Body(
		app.Dt().Text(name),
		app.Dd().ID(id).DataSet("testid", id).Text(value),
	)
}

func flagBadges(sl smp.SlotImage) []app.UI {
	var out []app.UI
	add := func(on bool, name, class string) {
		if on {
			out = append(out, app.Span().Class("badge "+class).Text(name))
		}
	}
	add(sl.Active, "active", "badge-ok")
	add(sl.Confirmed, "confirmed", "badge-ok")
	add(sl.Pending, "pending", "badge-warn")
	add(sl.Permanent, "permanent", "badge-warn")
	add(sl.Bootable, "bootable", "badge-muted")
	add(!sl.Bootable, "not bootable", "badge-bad")
	return out
}

func bootText(s *fwupdate.Summary) string {
	if s.Bootloader == "" {
		return "unknown"
	}
	t := s.Bootloader
	if s.BootMode != smp.BootModeUnknown {
		t += ", " + s.BootMode.String()
	}
	if s.NoDowngrade {
		t += ", refuses downgrades"
	}
	return t
}

func paramsText(p smp.Params) string {
	if p.BufSize == 0 {
		return "unknown"
	}
	return fmt.Sprintf("%d × %d bytes", p.BufCount, p.BufSize)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func shortHash(h []byte) string {
	s := hex.EncodeToString(h)
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}

func joinWords(ws []string) string {
	out := ""
	for i, w := range ws {
		if i > 0 {
			out += "; "
		}
		out += w
	}
	return out
}

func busyText(action string) string {
	switch action {
	case "read":
		return "Reading the board…"
	case "test":
		return "Marking the image for a test boot…"
	case "confirm":
		return "Confirming the running image…"
	case "reset":
		return "Resetting the board and waiting for it…"
	case "erase":
		return "Erasing slot 1…"
	}
	return "Working…"
}
