package kit

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/wasm/state"
)

// Page is one entry of the console's navigation.
type Page struct {
	Path  string // URL path, e.g. "/devices"
	Title string // navigation label and document title
	ID    string // stable identifier used in test ids: "nav-" + ID
}

// Icon draws the page's icon (icons/ID.svg) with the CSS class class.
func (p Page) Icon(class string) app.UI { return Icon(p.ID, class) }

// Pages lists the console's pages in navigation order.
func Pages() []Page {
	return []Page{
		{Path: "/devices", Title: "Devices", ID: "devices"},
		{Path: "/releases", Title: "Releases", ID: "releases"},
		{Path: "/keys", Title: "Keys", ID: "keys"},
		{Path: "/identity", Title: "Identity", ID: "identity"},
		{Path: "/security", Title: "Security plan", ID: "security"},
		{Path: StationPath, Title: "Station", ID: "station"},
		{Path: AdminPath, Title: "Administration", ID: "admin"},
	}
}

// SignInPath is the sign-in page's path. It takes the page to return to
// as ?next=/path.
const SignInPath = "/signin"

// EnrolPath is the enrolment page's path: the one-time link the server
// prints on first start is EnrolPath + "#token=…". The secret travels in
// the fragment, which browsers never send to a server.
const EnrolPath = "/enrol"

// UpdatePath is the path of the field technician's update flow.
const UpdatePath = "/devices/update"

// StationPath is station mode's path.
const StationPath = "/station"

// AdminPath is the Administration page's path.
const AdminPath = "/admin"

// SignedIn reports whether someone is signed in to a.
func SignedIn(a *state.App) bool {
	_, ok := a.Session()
	return ok
}
