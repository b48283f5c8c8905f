// Package update is the field technician's guided update: choose a board
// (MCUboot over SMP, USB DFU, DfuSe or ESP32) and a release, check and
// upload it, test-boot and confirm, even offline from the release cache.
// Boards are opened through board, shared with the Devices page.
package update

import (
	"context"
	"fmt"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/devices/fwupdate"
	"trustforge/devices/smp"
	"trustforge/wasm/client"
	"trustforge/wasm/link"
	"trustforge/wasm/releasecache"
	"trustforge/wasm/state"
	"trustforge/wasm/ui/board"
	"trustforge/wasm/ui/kit"
	"trustforge/wasm/updateflow"
	"trustforge/wasm/updatelog"
)

// The update flow's screens, in order: one per step.
const (
	screenRelease = "release"
	screenBoard   = "board"
	screenVerify  = "verify"
	screenCheck   = "check"
	screenUpload  = "upload"
	screenTest    = "test-boot"
	screenRunning = "check-version"
	screenConfirm = "confirm"
	screenDone    = "done"
)

// updateScreens names the screens for the stepper.
var updateScreens = []struct{ id, title string }{
	{screenRelease, "Release"},
	{screenBoard, "Board"},
	{screenVerify, "Verify"},
	{screenCheck, "Check"},
	{screenUpload, "Flash"},
	{screenTest, "Test boot"},
	{screenRunning, "New version runs"},
	{screenConfirm, "Confirm"},
	{screenDone, "Report"},
}

// screenOf maps a flow step to its screen.
func screenOf(s updateflow.Step) string {
	switch s {
	case updateflow.StepVerify:
		return screenVerify
	case updateflow.StepCheck:
		return screenCheck
	case updateflow.StepUpload:
		return screenUpload
	case updateflow.StepTestBoot:
		return screenTest
	case updateflow.StepRunning:
		return screenRunning
	case updateflow.StepConfirm:
		return screenConfirm
	}
	return screenDone
}

// stepView is how a step went, for its screen.
type stepView struct {
	state  string // "running", "ok" or "failed"
	detail string
}

// choice is the release the technician picked.
type choice struct {
	entry *releasecache.Entry // from the cache, or
	file  []byte              // a .tfb file
	label string
}

// Page is the page of the field technician's update (updateFlow).
type Page struct {
	app.Compo

	// App is the tab's shared state: session, API client and vault.
	App *state.App
	// Kit is the board link and the field stores.
	Kit *board.Kit
}

func (p *Page) OnNav(ctx app.Context) { ctx.Page().SetTitle("Update a device · trustforge") }

func (p *Page) Render() app.UI {
	return &kit.Layout{
		App:    p.App,
		Active: "/devices",
		Title:  "Update a device",
		Content: []app.UI{
			app.P().Class("lead").Body(
				app.Text("A guided update: the release is verified in this browser, checked against the board, flashed, "+
					"booted once, checked and confirmed. It works without network once the release is downloaded. "),
				app.A().ID("back-devices").Href("/devices").Text("Back to Devices"),
			),
			&updateFlow{App: p.App, Kit: p.Kit},
		},
	}
}

// updateFlow is the field technician's update: pick a release (downloaded
// at the office, or a file), connect the board, then verify, check, flash,
// test-boot, check the new version and confirm, one screen per step, and
// keep a report that reaches the server's audit log when the network
// allows. Everything after the download works offline. It is a component
// of its own, inside the layout, so that its event handlers update it.
type updateFlow struct {
	app.Compo

	// App is the tab's shared state: session, API client and vault.
	App *state.App
	// Kit is the board link and the field stores.
	Kit *board.Kit

	screen string

	// Choosing the release.
	loaded   bool
	offline  string // why the server's releases are not listed
	products []client.Product
	product  string
	channel  string // "" for every channel
	// channelPicked is set once the technician chose a channel; until
	// then the one with the product's newest release is shown.
	channelPicked  bool
	offered        []client.Release
	offeredListing bool // a listing of offered releases is on its way
	// offeredFor is the product and channel offered was listed for.
	offeredFor [2]string
	cached     []releasecache.Entry
	dl         string // id of the release downloading
	dlHave     int64
	dlTotal    int64
	chosen     *choice
	pickErr    string
	relMsg     string

	// The board: its kind (boardSMP, boardDFU, boardESP; "" is boardSMP),
	// the granted DFU devices and ESP32 ports, the chosen DFU device (by
	// serial number) and a DfuSe address.
	kind      string
	dfuDevs   []dfuDevice
	dfuSerial string
	dfuse     bool
	dfuAddr   string
	espPorts  []string
	boardErr  string
	// flowKind is the kind of the board the running flow checked.
	flowKind string

	// Running.
	status    link.Status
	busy      bool
	steps     map[updateflow.Step]stepView
	verified  *updateflow.Verified
	pending   *updateflow.Runner // a checked release, waiting for the go
	summary   *fwupdate.Summary
	upload    smp.UploadProgress
	unplugged bool
	cancel    context.CancelFunc
	runErr    string
	record    *fwupdate.Record
	recordErr string

	// Records waiting for the network.
	waiting int
	syncErr error
	reports []updatelog.Entry // the newest kept in this browser

	stops []func()

	// ui is the component's own context, from OnMount: work started by an
	// event handler dispatches through it, because go-app drops the
	// dispatches of a handler's context once its element is gone (a button
	// that the next screen removes).
	ui app.Context
}

// OnInit starts the flow on its first screen before the first render, so
// that the stepper shows its current step from the server's pre-rendered
// page on and does not change width when the console takes over.
func (p *updateFlow) OnInit() {
	if p.screen == "" {
		p.screen = screenRelease
	}
}

func (p *updateFlow) OnMount(ctx app.Context) {
	p.ui = ctx
	if !app.IsClient {
		return
	}
	p.status = p.Kit.Link.Status()
	p.stops = append(p.stops,
		p.Kit.Link.Subscribe(func() { ctx.Dispatch(func(app.Context) { p.status = p.Kit.Link.Status() }) }),
		kit.Follow(ctx, p.App, p.appChanged),
		p.Kit.Synced.Add(func() { ctx.Dispatch(func(ctx app.Context) { p.loadWaiting(ctx) }) }),
	)
	p.Kit.StartSync(p.App)
	p.loadReleases(ctx)
	p.loadWaiting(ctx)
}

func (p *updateFlow) OnDismount() {
	for _, stop := range p.stops {
		stop()
	}
	p.stops = nil
	if p.cancel != nil {
		p.cancel()
	}
}

// appChanged follows sign-in and the vault: the release list needs the
// session, verification the unlocked vault.
func (p *updateFlow) appChanged(ctx app.Context) {
	if !p.loaded || p.offline != "" {
		p.loadReleases(ctx)
	}
	if p.screen == screenVerify && !p.busy && p.verified == nil && p.record == nil &&
		p.App.VaultState() == state.VaultUnlocked {
		p.verifyAndCheck(ctx)
	}
}

// loadWaiting counts the records not yet sent.
func (p *updateFlow) loadWaiting(ctx app.Context) {
	ctx = p.ui
	ctx.Async(func() {
		_, log, err := p.Kit.Stores(ctx)
		n := 0
		var reports []updatelog.Entry
		if err == nil {
			n, _ = log.Waiting(ctx)
			reports, _ = log.List(ctx)
			if len(reports) > shownReports {
				reports = reports[:shownReports]
			}
		}
		serr := p.Kit.SyncError()
		ctx.Dispatch(func(app.Context) { p.waiting, p.syncErr, p.reports = n, serr, reports })
	})
}

// restart goes back to the first screen for another board.
func (p *updateFlow) restart(ctx app.Context, e app.Event) {
	if p.cancel != nil {
		p.cancel()
	}
	p.screen, p.chosen, p.steps, p.verified, p.summary, p.pending = screenRelease, nil, nil, nil, nil, nil
	p.record, p.recordErr, p.runErr, p.unplugged, p.busy = nil, "", "", false, false
	p.upload = smp.UploadProgress{}
	p.loadReleases(ctx)
}

func (p *updateFlow) Render() app.UI {
	return app.Div().ID("update-flow").Body(
		p.renderStepper(),
		p.renderScreen(),
		p.renderRecords(),
	)
}

// stepOf maps a screen to the flow step it shows ("" for the others).
var stepOf = map[string]updateflow.Step{
	screenVerify: updateflow.StepVerify, screenCheck: updateflow.StepCheck, screenUpload: updateflow.StepUpload,
	screenTest: updateflow.StepTestBoot, screenRunning: updateflow.StepRunning, screenConfirm: updateflow.StepConfirm,
}

// pillStates says how each screen's pill reads: the flow's steps as
// updateflow.Statuses has them (a refused update never shows Flash done),
// the screens around them by where the technician is.
func (p *updateFlow) pillStates() map[string]updateflow.Status {
	results := map[updateflow.Step]updateflow.Result{}
	for s, v := range p.steps {
		results[s] = map[string]updateflow.Result{"running": updateflow.Running, "ok": updateflow.Succeeded,
			"failed": updateflow.Failed}[v.state]
	}
	var outcome fwupdate.Outcome
	if p.record != nil {
		outcome = p.record.Outcome
	}
	steps := updateflow.Statuses(results, outcome)
	cur := -1
	for i, s := range updateScreens {
		if s.id == p.screen {
			cur = i
		}
	}
	out := map[string]updateflow.Status{}
	for i, s := range updateScreens {
		if st, ok := stepOf[s.id]; ok {
			out[s.id] = steps[st]
			continue
		}
		switch {
		case i < cur || (s.id == screenDone && p.record != nil):
			out[s.id] = updateflow.StatusDone
		case i == cur:
			out[s.id] = updateflow.StatusRunning
		default:
			out[s.id] = updateflow.StatusUpcoming
		}
	}
	return out
}

// pillWords are what a pill's state reads as, for people and screen
// readers.
var pillWords = map[updateflow.Status]string{
	updateflow.StatusDone: "done", updateflow.StatusFailed: "failed", updateflow.StatusSkipped: "skipped",
	updateflow.StatusNotRun: "not run", updateflow.StatusRunning: "in progress", updateflow.StatusUpcoming: "to do",
}

var pillMarks = map[updateflow.Status]string{
	updateflow.StatusDone: "✓", updateflow.StatusFailed: "✗", updateflow.StatusSkipped: "↷", updateflow.StatusNotRun: "–",
}

func (p *updateFlow) renderStepper() app.UI {
	states := p.pillStates()
	return app.Ol().ID("update-steps").DataSet("testid", "update-steps").DataSet("screen", p.screen).Class("stepper").
		Aria("label", "Steps of the update").Body(
		app.Range(updateScreens).Slice(func(i int) app.UI {
			s := updateScreens[i]
			st := states[s.id]
			li := app.Li().ID("stepper-"+s.id).DataSet("state", string(st)).Class("pill-"+string(st)).Body(
				app.If(pillMarks[st] != "", func() app.UI {
					return app.Span().Class("pill-mark").Aria("hidden", "true").Text(pillMarks[st] + " ")
				}),
				app.Text(s.title),
				app.Span().Class("visually-hidden").Text(", "+pillWords[st]),
			)
			if s.id == p.screen {
				return li.Class("current").Aria("current", "step")
			}
			return li
		}),
	)
}

func (p *updateFlow) renderScreen() app.UI {
	switch p.screen {
	case screenRelease:
		return p.renderRelease()
	case screenBoard:
		return p.renderBoard()
	case screenDone:
		return p.renderDone()
	}
	return p.renderRun()
}

// shownReports bounds the reports listed on the page.
const shownReports = 20

func (p *updateFlow) renderRecords() app.UI {
	var text, state string
	switch {
	case p.waiting == 0:
		text, state = "Every update report has reached the server's audit log.", "sent"
	case p.syncErr != nil:
		text, state = fmt.Sprintf("%d update report(s) wait in this browser; they are sent when the network is back (%s)",
			p.waiting, board.DescribeDevice(p.syncErr)), "waiting"
	default:
		text, state = fmt.Sprintf("%d update report(s) wait in this browser to be sent.", p.waiting), "waiting"
	}
	return app.Section().ID("reports").Class("panel").Aria("label", "Update reports").Body(
		app.H2().Text("Update reports on this browser"),
		app.P().ID("records-sync").DataSet("testid", "records-sync").DataSet("state", state).DataSet("waiting", p.waiting).
			Class("muted").Text(text),
		app.If(len(p.reports) > 0, func() app.UI {
			return app.Table().ID("report-list").Class("table").Body(app.THead().Body(app.Tr().Body(
				app.Th().Text("Started"), app.Th().Text("Outcome"), app.Th().Text("Release"), app.Th().Text("Board"),
				app.Th().Text("Audit log"), app.Th().Text("Actions"))), app.TBody().Body(
				app.Range(p.reports).Slice(func(i int) app.UI {
					e := p.reports[i]
					r := e.Record
					sent := "waiting"
					switch {
					case !e.Sent.IsZero():
						sent = "sent"
					case e.Refused != "":
						sent = "refused by the server"
					}
					return app.Tr().DataSet("testid", "report-row").DataSet("outcome", string(r.Outcome)).DataSet("sent", sent).Body(
						app.Td().Text(r.Started.Local().Format("2006-01-02 15:04")),
						app.Td().Text(string(r.Outcome)),
						app.Td().Text(strings.TrimSpace(r.Product+" "+r.Version)),
						app.Td().Text(r.Board.Node),
						app.Td().Class("muted").Text(sent),
						kit.ActionsCell(app.Button().ID(fmt.Sprintf("report-save-%d", i)).Class("btn-small btn-ghost").
							Text("Save").OnClick(func(ctx app.Context, _ app.Event) {
							kit.SaveFile(reportName(&r, "txt"), "text/plain", []byte(r.Text()))
						}, app.EventScope(r.ID))),
					)
				}),
			))
		}),
	)
}
