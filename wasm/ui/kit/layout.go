package kit

import (
	"context"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/internal/version"
	"trustforge/wasm/state"
)

// Layout is the console's frame: header with the build version, navigation,
// the browser-capability notice and the page content.
//
// Once the WASM has mounted it, the root element carries data-ready="true"
// (from the browser's first render on: the element's handlers are bound by
// then, and a click is handled after every component's OnMount, which go-app
// runs first in the same queue); the server's pre-rendered copy carries
// data-ready="false". Tests and production-line drivers wait on that marker
// before clicking.
type Layout struct {
	app.Compo

	// App is the tab's shared state; nil leaves out the session bar.
	App *state.App
	// Active is the path of the page being shown.
	Active string
	// Title is the page heading.
	Title string
	// Content is the page body.
	Content []app.UI

	ready         bool
	updateWaiting bool
}

func (l *Layout) OnInit() {
	l.ready = app.IsClient
}

func (l *Layout) OnMount(ctx app.Context) {
	if !app.IsClient {
		return
	}
	l.updateWaiting = ctx.AppUpdateAvailable()
	if l.App != nil {
		// The tab's state outlives pages: its work is not tied to ctx.
		l.App.Start(context.Background())
	}
	if !l.updateWaiting {
		// Rendered as it is: no second pass over the page before the
		// browser may paint it.
		ctx.PreventUpdate()
	}
}

func (l *Layout) OnAppUpdate(ctx app.Context) {
	l.updateWaiting = ctx.AppUpdateAvailable()
}

func (l *Layout) Render() app.UI {
	ready := "false"
	if l.ready {
		ready = "true"
	}
	return app.Div().
		ID("console").
		Class("console").
		DataSet("ready", ready).
		Body(
			app.Header().Class("topbar").Body(
				app.A().Class("brand").Href("/").DataSet("testid", "brand").Body(
					Icon("brand", "brand-icon"),
					app.Span().Text("trustforge"),
				),
				app.If(l.App != nil, func() app.UI { return &sessionBar{App: l.App} }),
				app.Div().Class("topbar-end").Body(
					&offlineChip{},
					app.Span().
						Class("build").
						ID("build-version").
						DataSet("testid", "build-version").
						Title("console build "+version.Version).
						Text("build "+version.Version),
				),
			),
			app.If(l.updateWaiting, func() app.UI {
				return app.Div().Class("banner banner-info").ID("update-banner").Body(
					app.Span().Text("A new trustforge build is available. "),
					app.Button().
						ID("update-reload").
						Text("Reload now").
						OnClick(func(ctx app.Context, e app.Event) { ctx.Reload() }),
				)
			}),
			app.Div().Class("frame").Body(
				&navigation{Active: l.Active},
				app.Main().Class("content").ID("content").Body(
					&platformNotice{},
					app.H1().ID("page-title").Text(l.Title),
					app.If(l.App != nil, func() app.UI { return &pageNote{App: l.App, Path: l.Active} }),
					app.Div().Class("page").Body(l.Content...),
				),
			),
		)
}
