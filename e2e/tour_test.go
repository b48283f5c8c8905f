package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"trustforge/e2e/driver"
	"trustforge/wasm/ui"
)

// A tour visits every page of the console as every role sees it, in an
// empty state (a server of its own, just enrolled, and a new browser: no
// product, no vault, nothing made) and a populated one (the tests' server
// with a product and releases, a vault with keys), and hands
// each page to a visitor: the accessibility check and the screenshots
// both take the tour. The pages come from ui.Pages and the few reached
// from them, so a page added to the console is toured without a change
// here.

// tourPage is one page of the tour.
type tourPage struct {
	Name string // file-name friendly: "releases", "update"
	Path string
	// Via is the id of the link that leads there from its parent page
	// (navigation without a reload keeps the vault unlocked); empty for
	// the navigation's own pages.
	Via, Parent string
}

// tourPages lists every page: the home page, the navigation's pages, and
// the pages reached from them.
func tourPages() []tourPage {
	out := []tourPage{{Name: "home", Path: "/"}}
	for _, p := range ui.Pages() {
		out = append(out, tourPage{Name: p.ID, Path: p.Path})
	}
	return append(out, tourPage{Name: "update", Path: ui.UpdatePath, Via: "open-update", Parent: "/devices"})
}

// tourRole is who takes the tour.
type tourRole struct {
	Name, User, Pass string
}

// tourRoles lists one account per role, and nobody signed in.
func tourRoles(tb testing.TB) []tourRole {
	tb.Helper()
	if err := stationAccount(); err != nil {
		tb.Fatal(err)
	}
	return []tourRole{
		{Name: "signed-out"},
		{Name: "admin", User: "root", Pass: "root's password 1"},
		{Name: "engineer", User: engineerName, Pass: engineerPass},
		{Name: "technician", User: technicianName, Pass: technicianPass},
		{Name: "station", User: tourStation, Pass: tourStationPass},
	}
}

const (
	tourStation     = "line7"
	tourStationPass = "line7's password 1"
	tourVault       = "tour vault passphrase"
)

// stationAccount makes the station account the tour signs in with, once.
var stationAccount = sync.OnceValue(func() error {
	return env.accounts.createUser(context.Background(), tourStation, "station", tourStationPass)
})

// populatedFleet makes the tour's product, with releases on two
// channels, once: what the populated state lists.
func populatedFleet(tb testing.TB) *fleet {
	tb.Helper()
	tourOnce.Do(func() {
		tourMade = newFleet(tb)
		tourMade.publish(tb, tourMade.release(tb, "1.0.0+3", 8<<10))
		tourMade.publish(tb, tourMade.releaseOn(tb, "beta", "1.1.0", 8<<10))
	})
	return tourMade
}

var (
	tourOnce sync.Once
	tourMade *fleet
)

// visitor looks at one page; ctx's tab shows it, settled.
type visitor func(t *testing.T, ctx context.Context, role tourRole, state string, p tourPage)

// emptyServer starts a server of its own for the empty state, with the
// same accounts as the tests' server; t's end stops it.
func emptyServer(t *testing.T) string {
	t.Helper()
	if env.skip != "" {
		t.Skipf("chromium missing: %s", env.skip)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := driver.StartServer(ctx, driver.ServerOptions{Binary: env.bin, WebDir: env.webDir, Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	a, err := setUpAccounts(ctx, srv)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.createUser(ctx, tourStation, "station", tourStationPass); err != nil {
		t.Fatal(err)
	}
	return srv.URL
}

// takeTour visits every page for every role in both states.
func takeTour(t *testing.T, visit visitor) {
	populatedFleet(t)
	empty := emptyServer(t)
	for _, role := range tourRoles(t) {
		for _, state := range []string{"empty", "populated"} {
			if role.User == "" && state == "populated" {
				continue // nothing to populate without an account
			}
			base := env.server.URL
			if state == "empty" {
				base = empty
			}
			t.Run(role.Name+"/"+state, func(t *testing.T) {
				ctx, _ := newWorkTab(t, 10*time.Minute)
				prepareTour(t, ctx, base, role, state)
				for _, p := range tourPages() {
					openTourPage(t, ctx, base, role, p)
					settle(t, ctx)
					visit(t, ctx, role, state, p)
				}
			})
		}
	}
}

// prepareTour signs role in and, for the populated state, makes a vault
// with the keys the role works with.
func prepareTour(tb testing.TB, ctx context.Context, base string, role tourRole, state string) {
	tb.Helper()
	if role.User == "" {
		return
	}
	wctx, cancel := beforeDeadline(ctx)
	defer cancel()
	if err := driver.SignIn(wctx, base+"/signin?next=/keys", role.User, role.Pass); err != nil {
		tb.Fatalf("%v\n%s", err, pageState(ctx))
	}
	waitFor(tb, ctx, `#nav-keys[aria-current="page"]`)
	if state != "populated" {
		return
	}
	createVault(tb, ctx, tourVault)
	switch role.Name {
	case "engineer", "admin":
		generateKey(tb, ctx, "ed25519", "release key")
		generateKey(tb, ctx, "age-x25519", "my recipient")
	default:
		generateKey(tb, ctx, "age-x25519", "field identity")
	}
	// The tour's product lists first for everyone who can read releases.
	f := populatedFleet(tb)
	if attr(tb, ctx, `#register-product option[value="`+f.product+`"]`, "value") != "" {
		choose(tb, ctx, "register-product", f.product)
	}
}

// openTourPage shows p: by clicking, as a person does, when a link leads
// there, or by opening its address.
func openTourPage(tb testing.TB, ctx context.Context, base string, role tourRole, p tourPage) {
	tb.Helper()
	if role.User == "" {
		if err := driver.Open(ctx, base+p.Path); err != nil {
			tb.Fatal(err)
		}
		return
	}
	link := ""
	switch {
	case p.Path == "/":
		link = `a[data-testid="brand"]`
	case p.Via == "":
		link = `a[href="` + p.Path + `"]`
	default:
		openTourPage(tb, ctx, base, role, tourPage{Path: p.Parent})
		link = "#" + p.Via
	}
	if attr(tb, ctx, link, "href") == "" {
		if err := driver.Open(ctx, base+p.Path); err != nil {
			tb.Fatal(err)
		}
		return
	}
	clickSel(tb, ctx, link)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`location.pathname === %q`, p.Path))); err != nil {
		tb.Fatalf("waiting for %s: %v", p.Path, err)
	}
	if err := driver.WaitReady(ctx); err != nil {
		tb.Fatal(err)
	}
	if p.Path == "/releases" && role.Name != "station" {
		f := populatedFleet(tb)
		if attr(tb, ctx, `#list-product option[value="`+f.product+`"]`, "value") != "" {
			choose(tb, ctx, "list-product", f.product)
		}
	}
}

// settle waits until the page has stopped changing: its lists loaded and
// verified, nothing saying "Loading". The page's markup is compared every
// 100 ms until it stayed the same five times.
func settle(tb testing.TB, ctx context.Context) {
	tb.Helper()
	js := `(() => {
		const w = window.__tfSettle || (window.__tfSettle = {html: "", same: 0});
		const html = document.body.innerHTML;
		const busy = /Loading|Checking your session|verifying…/.test(document.body.innerText);
		if (html === w.html && !busy) { w.same++; } else { w.same = 0; w.html = html; }
		if (w.same >= 5) { delete window.__tfSettle; return true; }
		return false;
	})()`
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := chromedp.Run(sctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		tb.Fatalf("waiting for the page to settle: %v; it reads:\n%s", err, text)
	}
}

// pageLabel names a page of the tour in messages and file names.
func pageLabel(role tourRole, state string, p tourPage) string {
	return strings.Join([]string{role.Name, state, p.Name}, "-")
}
