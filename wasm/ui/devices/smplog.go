package devices

import (
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/wasm/link"
	"trustforge/wasm/ui/board"
	"trustforge/wasm/ui/kit"
)

// smpLogShown bounds the lines the log panel renders; Save writes all.
const smpLogShown = 300

// smpLogPanel shows the SMP exchange with the board, its console output and
// the link's events, for engineers who need to see what went over the
// wire. It renders only while open.
type smpLogPanel struct {
	app.Compo

	// Kit holds the link whose log is shown.
	Kit *board.Kit

	open    bool
	lines   []link.LogLine
	pending bool // a redraw is scheduled
	stop    func()
}

func (p *smpLogPanel) OnMount(ctx app.Context) {
	if !app.IsClient {
		return
	}
	p.stop = p.Kit.Link.Log().Subscribe(func() {
		ctx.Dispatch(func(ctx app.Context) { p.schedule(ctx) })
	})
}

func (p *smpLogPanel) OnDismount() {
	if p.stop != nil {
		p.stop()
	}
}

// schedule redraws an open log at most four times a second, however fast
// lines come during an upload.
func (p *smpLogPanel) schedule(ctx app.Context) {
	if !p.open || p.pending {
		return
	}
	p.pending = true
	ctx.After(250*time.Millisecond, func(ctx app.Context) {
		p.pending = false
		p.lines = p.Kit.Link.Log().Lines()
	})
}

func (p *smpLogPanel) toggle(ctx app.Context, e app.Event) {
	p.open = !p.open
	if p.open {
		p.lines = p.Kit.Link.Log().Lines()
	}
}

func (p *smpLogPanel) save(ctx app.Context, e app.Event) {
	text := p.Kit.Link.Log().Text()
	name := "trustforge-smp-" + time.Now().UTC().Format("20060102-150405") + ".log"
	kit.SaveFile(name, "text/plain", []byte(text))
}

func (p *smpLogPanel) clear(ctx app.Context, e app.Event) {
	p.Kit.Link.Log().Clear()
	p.lines = nil
}

func (p *smpLogPanel) Render() app.UI {
	label := "Show the SMP log"
	if p.open {
		label = "Hide the SMP log"
	}
	return app.Section().ID("smp").Class("panel").Aria("label", "SMP log").Body(
		app.H2().Text("SMP log"),
		app.Div().Class("form-actions").Body(
			app.Button().ID("smp-log-toggle").DataSet("testid", "smp-log-toggle").Class("btn-ghost").
				Aria("expanded", p.open).Aria("controls", "smp-log").Text(label).OnClick(p.toggle),
			app.Button().ID("smp-log-save").DataSet("testid", "smp-log-save").Class("btn-ghost").Text("Save").OnClick(p.save),
			app.Button().ID("smp-log-clear").DataSet("testid", "smp-log-clear").Class("btn-ghost").Text("Clear").OnClick(p.clear),
		),
		app.If(p.open, func() app.UI {
			lines := p.lines
			if len(lines) > smpLogShown {
				lines = lines[len(lines)-smpLogShown:]
			}
			var b strings.Builder
			for _, ln := range lines {
				b.WriteString(ln.Time.Format("15:04:05.000"))
				b.WriteString("  ")
				b.WriteString(string(ln.Kind))
				b.WriteString("  ")
				b.WriteString(ln.Text)
				b.WriteString("\n")
			}
			return app.Pre().ID("smp-log").DataSet("testid", "smp-log").Class("log").Text(b.String())
		}),
	)
}
