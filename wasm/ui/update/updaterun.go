package update

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/crypto/bundle"
	"trustforge/devices/fwupdate"
	"trustforge/wasm/state"
	"trustforge/wasm/ui/board"
	"trustforge/wasm/ui/kit"
	"trustforge/wasm/updateflow"
)

// This file runs the update's steps, from verification to confirmation,
// off the UI goroutine, and shows the screen of the step under way.

// runner returns a Runner reporting to the page. It runs on a goroutine:
// it reads the remembered technician.
func (p *updateFlow) runner(ctx app.Context, kind updateflow.Kind, transport string) *updateflow.Runner {
	var last time.Time
	return &updateflow.Runner{
		Board:      p.Kit.Link,
		Kind:       kind,
		Transport:  transport,
		Technician: p.Kit.Technician(ctx, p.App),
		Yield:      kit.YieldToBrowser,
		OnEvent: func(ev updateflow.Event) {
			if ev.Upload != nil || ev.Progress != nil {
				// At most ten redraws a second.
				if now := time.Now(); now.Sub(last) < 100*time.Millisecond {
					return
				} else {
					last = now
				}
			}
			ctx.Dispatch(func(app.Context) { p.onEvent(ev) })
		},
	}
}

func (p *updateFlow) onEvent(ev updateflow.Event) {
	if p.steps == nil {
		p.steps = map[updateflow.Step]stepView{}
	}
	switch {
	case ev.Upload != nil:
		p.upload, p.unplugged = *ev.Upload, false
	case ev.Unplugged:
		p.unplugged = true
	case ev.Done:
		v := stepView{state: "ok", detail: ev.Detail}
		if ev.Err != nil {
			v.state = "failed"
			v.detail = board.DescribeDevice(ev.Err)
		}
		p.steps[ev.Step] = v
	case ev.Progress == nil && ev.Detail == "":
		p.steps[ev.Step] = stepView{state: "running"}
		p.screen = screenOf(ev.Step)
		p.unplugged = false
	}
}

// source assembles what verification needs: the bundle, the server's
// record and the product's keys (kept with a downloaded release, or looked
// up for a file), and the vault's age identities.
func (p *updateFlow) source(ctx context.Context) (updateflow.Source, error) {
	var src updateflow.Source
	v, err := p.App.UnlockedVault()
	if err != nil {
		return src, err
	}
	if src.Identities, err = v.Identities(ctx); err != nil {
		return src, err
	}
	c := p.chosen
	if c.entry != nil {
		cache, _, err := p.Kit.Stores(ctx)
		if err != nil {
			return src, err
		}
		if src.Bundle, err = cache.Bundle(ctx, c.entry.Release.ID); err != nil {
			return src, err
		}
		rel := c.entry.Release
		src.Release, src.Keys = &rel, c.entry.Keys
		return src, nil
	}
	src.Bundle = c.file
	// The keys are looked up by the product the manifest names; the
	// manifest itself is verified against them next.
	s, err := bundle.ReadHeader(bytes.NewReader(c.file))
	if err != nil {
		return src, nil // Verify reports it, and records the refusal
	}
	m, err := s.VerifyIntegrity()
	if err != nil {
		return src, nil
	}
	src.Keys, err = board.ProductKeys(ctx, p.App, p.Kit, m.Product)
	return src, err
}

// verifyAndCheck runs the verify and check steps; a release that passes
// both waits for the technician's go.
func (p *updateFlow) verifyAndCheck(ctx app.Context) {
	ctx = p.ui
	if p.busy || p.chosen == nil {
		return
	}
	if p.App.VaultState() != state.VaultUnlocked {
		return // the screen asks for the vault; appChanged comes back here
	}
	kind, transport, err := p.boardKind()
	if err != nil {
		p.runErr = board.DescribeDevice(err)
		return
	}
	p.busy, p.runErr, p.steps, p.flowKind = true, "", map[updateflow.Step]stepView{}, p.kind
	rctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	ctx.Async(func() {
		defer cancel()
		r := p.runner(ctx, kind, transport)
		src, err := p.source(rctx)
		if err != nil {
			ctx.Dispatch(func(app.Context) { p.busy, p.runErr = false, board.DescribeDevice(err) })
			return
		}
		v, err := r.Verify(rctx, src)
		if err == nil {
			err = r.Check(rctx, v)
		}
		if err != nil {
			p.finish(ctx, r, err)
			return
		}
		ctx.Dispatch(func(app.Context) {
			p.busy, p.cancel, p.verified, p.summary = false, nil, v, r.Summary()
			p.screen = screenCheck
			p.pending = r
		})
	})
}

// flash runs the steps that change the board.
func (p *updateFlow) flash(ctx app.Context, e app.Event) {
	ctx = p.ui
	r, v := p.pending, p.verified
	if p.busy || r == nil || v == nil {
		return
	}
	p.busy, p.runErr = true, ""
	rctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	ctx.Async(func() {
		defer cancel()
		err := r.Flash(rctx, v)
		p.finish(ctx, r, err)
	})
}

func (p *updateFlow) cancelRun(ctx app.Context, e app.Event) {
	if p.cancel != nil {
		p.cancel()
	}
}

// finish ends the record, keeps it in the browser's update log and asks
// for it to be sent, then shows the report.
func (p *updateFlow) finish(ctx app.Context, r *updateflow.Runner, err error) {
	rec := r.Finish(err)
	var saveErr error
	if rec != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, log, serr := p.Kit.Stores(sctx)
		if serr == nil {
			serr = log.Add(sctx, rec)
		}
		cancel()
		saveErr = serr
		p.Kit.Kick()
	}
	ctx.Dispatch(func(ctx app.Context) {
		p.busy, p.cancel, p.pending, p.unplugged = false, nil, nil, false
		p.record = rec
		if saveErr != nil {
			p.recordErr = "The report could not be kept in this browser: " + board.DescribeDevice(saveErr) + ". Save it now."
		}
		if err != nil && rec == nil {
			p.runErr = board.DescribeDevice(err)
			return
		}
		p.screen = screenDone
		p.loadWaiting(ctx)
	})
}

func (p *updateFlow) renderRun() app.UI {
	step := map[string]updateflow.Step{
		screenVerify: updateflow.StepVerify, screenCheck: updateflow.StepCheck, screenUpload: updateflow.StepUpload,
		screenTest: updateflow.StepTestBoot, screenRunning: updateflow.StepRunning, screenConfirm: updateflow.StepConfirm,
	}[p.screen]
	titles := map[string]string{
		screenVerify:  "3. Verify the release",
		screenCheck:   "4. Check it against the board",
		screenUpload:  "5. Flash the board",
		screenTest:    "6. Boot the new image once",
		screenRunning: "7. Check the new version runs",
		screenConfirm: "8. Confirm it",
	}
	switch {
	case p.flowKind == boardESP:
		titles[screenTest] = "6. Restart the board into its flash"
	case p.flowKind == boardDFU && p.dfuse:
		titles[screenTest] = "6. Start the application"
	}
	v := p.steps[step]
	vaultNeeded := p.screen == screenVerify && p.App.VaultState() != state.VaultUnlocked
	return app.Section().ID("step-"+p.screen).DataSet("testid", "step-"+p.screen).DataSet("state", v.state).
		Class("panel").Aria("label", titles[p.screen]).Body(
		app.H2().Text(titles[p.screen]),
		app.If(vaultNeeded, func() app.UI {
			return app.Div().Body(
				app.P().ID("update-vault-needed").Text("The release is encrypted: unlock your vault so its age identity can open it."),
				&kit.VaultPanel{App: p.App},
			)
		}),
		app.If(v.state == "running" || (v.state == "" && !vaultNeeded && p.busy), func() app.UI {
			return app.P().ID("update-working").Class("muted").Aria("live", "polite").Text(workingText(step))
		}),
		app.If(p.screen == screenUpload && v.state != "ok", func() app.UI {
			return board.UploadProgress("update-progress", p.upload)
		}),
		app.If(p.unplugged, func() app.UI {
			return app.P().ID("update-unplugged").DataSet("testid", "update-unplugged").Class("banner banner-warn").
				Aria("live", "assertive").Text(fmt.Sprintf("Board unplugged at %s of %s. Plug it back in: %s",
				kit.SizeText(p.upload.Offset), kit.SizeText(p.upload.Total), resumeNote(p.flowKind)))
		}),
		app.If(v.detail != "", func() app.UI {
			cls := "ok"
			if v.state == "failed" {
				cls = "error"
			}
			return app.P().ID("update-detail").DataSet("testid", "update-detail").Class(cls).Text(kit.UpperFirst(v.detail))
		}),
		app.If(p.screen == screenCheck && p.verified != nil && !p.busy, func() app.UI {
			return p.renderReady()
		}),
		app.If(p.runErr != "", func() app.UI {
			return app.P().ID("update-error").DataSet("testid", "update-error").Class("error").Aria("live", "assertive").Text(p.runErr)
		}),
		app.Div().Class("form-actions").Body(
			app.If(p.busy, func() app.UI {
				return app.Button().ID("update-cancel").DataSet("testid", "update-cancel").Class("btn-ghost").Text("Stop").OnClick(p.cancelRun)
			}),
			app.If(!p.busy, func() app.UI {
				return app.Button().ID("update-restart").Class("btn-ghost").Text("Start over").OnClick(p.restart)
			}),
		),
	)
}

// renderReady shows what is about to happen and asks for the go.
func (p *updateFlow) renderReady() app.UI {
	m := p.verified.Manifest
	from := "?"
	if p.record != nil {
		from = p.record.Board.FromVersion
	} else if p.pending != nil && p.pending.Record() != nil {
		from = p.pending.Record().Board.FromVersion
	}
	return app.Div().ID("update-ready").DataSet("testid", "update-ready").Body(
		app.P().Text(fmt.Sprintf("Ready: the board runs %s; it will get %s %s. %s",
			kit.VersionText(from), m.Product, m.Version, readyNote(p.flowKind, p.dfuse))),
		app.Button().ID("update-flash").DataSet("testid", "update-flash").Class("btn-primary").Text("Flash "+m.Version.String()).OnClick(p.flash),
	)
}

func workingText(s updateflow.Step) string {
	switch s {
	case updateflow.StepVerify:
		return "Checking the signature and hashes, decrypting…"
	case updateflow.StepCheck:
		return "Reading the board…"
	case updateflow.StepUpload:
		return "Uploading to the board…"
	case updateflow.StepTestBoot:
		return "Marking the new image for one boot and resetting the board…"
	case updateflow.StepRunning:
		return "Asking the board what it runs…"
	case updateflow.StepConfirm:
		return "Confirming the new image…"
	}
	return "Working…"
}

// renderDone is the report: the outcome, every step, and buttons to save it.
func (p *updateFlow) renderDone() app.UI {
	rec := p.record
	if rec == nil {
		return app.Section().ID("step-done").Class("panel").Body(app.P().Text("No update was run."))
	}
	headline := map[fwupdate.Outcome]string{
		fwupdate.Updated:   "Done: the board runs " + rec.Version + ", confirmed.",
		fwupdate.Refused:   "Refused: nothing was written to the board.",
		fwupdate.Failed:    "The update failed; the board keeps (or went back to) its previous image.",
		fwupdate.Cancelled: "Stopped; the board keeps its previous image until a new one is confirmed.",
	}[rec.Outcome]
	cls := "ok"
	if rec.Outcome != fwupdate.Updated {
		cls = "error"
	}
	return app.Section().ID("step-done").DataSet("testid", "step-done").Class("panel").Aria("label", "Report").Body(
		app.H2().Text("9. Report"),
		app.P().ID("update-outcome").DataSet("testid", "update-outcome").DataSet("outcome", string(rec.Outcome)).Class(cls).
			Aria("live", "assertive").Text(headline),
		app.If(rec.Reason != "", func() app.UI {
			return app.P().ID("update-reason").DataSet("testid", "update-reason").Class(cls).Text(kit.UpperFirst(rec.Reason) + ".")
		}),
		app.Pre().ID("update-report").DataSet("testid", "update-report").Class("log").Text(rec.Text()),
		app.If(p.recordErr != "", func() app.UI {
			return app.P().ID("update-record-error").Class("error").Text(p.recordErr)
		}),
		app.Div().Class("form-actions").Body(
			app.Button().ID("report-save-text").DataSet("testid", "report-save-text").Class("btn-primary").Text("Save the report").
				OnClick(func(ctx app.Context, e app.Event) {
					kit.SaveFile(reportName(rec, "txt"), "text/plain", []byte(rec.Text()))
				}, app.EventScope(rec.ID)),
			app.Button().ID("report-save-json").DataSet("testid", "report-save-json").Class("btn-ghost").Text("Save as JSON").
				OnClick(func(ctx app.Context, e app.Event) {
					b, _ := json.MarshalIndent(rec, "", "  ")
					kit.SaveFile(reportName(rec, "json"), "application/json", b)
				}, app.EventScope(rec.ID)),
			app.Button().ID("update-again").DataSet("testid", "update-again").Class("btn-ghost").Text("Update another board").OnClick(p.restart),
		),
	)
}

func reportName(rec *fwupdate.Record, ext string) string {
	name := "trustforge-update-" + rec.Started.UTC().Format("20060102-150405")
	if rec.Board.Node != "" {
		name += "-" + rec.Board.Node
	}
	return name + "." + ext
}

// readyNote says what happens to the board's current firmware, by kind.
func readyNote(kind string, dfuse bool) string {
	switch {
	case kind == boardESP:
		return "Each part is checked by the chip as it is written; if the link breaks the write starts again from the part it cut, and the bootloader never starts a half-written app."
	case kind == boardDFU && dfuse:
		return "The flash at the address is erased and written, then read back; the bootloader stays in the part's ROM, so it can always be written again."
	}
	return "The board keeps its current image until the new one is confirmed."
}

// resumeNote says how a write goes on after an unplug, by kind.
func resumeNote(kind string) string {
	switch kind {
	case boardDFU:
		return "the download starts again from the beginning; the board keeps booting its current image until then."
	case boardESP:
		return "the write starts again from the part the link broke in."
	}
	return "the upload resumes where the board stopped."
}
