package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"

	"trustforge/e2e/driver"
)

// TestAdminTokensSayLoading: while Administration waits for the API
// tokens, it says so; it once said "No API tokens" until they arrived, and
// an administrator with tokens read that there were none.
func TestAdminTokensSayLoading(t *testing.T) {
	ctx, _ := newTab(t)
	wctx, cancel := beforeDeadline(ctx)
	defer cancel()
	if err := driver.SignIn(wctx, env.server.URL+"/signin?next=/keys", "root", "root's password 1"); err != nil {
		t.Fatalf("%v\n%s", err, pageState(ctx))
	}
	waitFor(t, ctx, `#nav-keys[aria-current="page"]`)

	// Hold the list of tokens until the page has been looked at.
	held := holdRequests(t, ctx, "*/api/tokens?all=true*")
	goTo(t, ctx, "admin")
	var e fetch.EventRequestPaused
	select {
	case e = <-held:
	case <-time.After(20 * time.Second):
		t.Fatalf("Administration never asked for the API tokens\n%s", pageState(ctx))
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("admin-tokens-room")?.textContent ?? "(no tokens area)"`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "Loading API tokens") || strings.Contains(got, "No API tokens") {
		t.Errorf("while the tokens load the page says %q", got)
	}
	if _, err := chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: e.RequestID}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, fetch.Disable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `#admin-tokens-room[data-loaded="true"]`)
	loading, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.getElementById("admin-tokens-loading")`))
	if err != nil {
		t.Fatal(err)
	}
	if loading {
		t.Error("the tokens arrived but the page still says they are loading")
	}
}
