package kit

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// platformNotice tells the user, in plain words, when the browser lacks the
// Web Serial or WebUSB API the console needs to reach boards. It renders
// nothing on the server and nothing when both APIs are present.
type platformNotice struct {
	app.Compo

	checked bool
	serial  bool
	usb     bool
}

// OnInit looks at the browser before the first render, so that the notice
// needs no second pass.
func (p *platformNotice) OnInit() {
	if !app.IsClient {
		return
	}
	nav := app.Window().Get("navigator")
	p.serial = nav.Get("serial").Truthy()
	p.usb = nav.Get("usb").Truthy()
	p.checked = true
}

func (p *platformNotice) Render() app.UI {
	if !p.checked || (p.serial && p.usb) {
		return app.Span().ID("platform-ok").Hidden(true)
	}
	var missing string
	switch {
	case !p.serial && !p.usb:
		missing = "Web Serial and WebUSB"
	case !p.serial:
		missing = "Web Serial"
	default:
		missing = "WebUSB"
	}
	return app.Div().
		Class("banner banner-warn").
		ID("platform-notice").
		DataSet("testid", "platform-notice").
		Aria("live", "polite").
		Body(
			app.Strong().Text("Your browser lacks "+missing+". "),
			app.Span().Text("Boards cannot be reached from this browser: "+
				"open the console in Chrome, Edge or Chromium (version 89 or later) "+
				"over https or on localhost. Keys, releases and identity work here all the same."),
		)
}
