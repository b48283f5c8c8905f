package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"trustforge/e2e/driver"
)

// The steps a person takes in the console, as the tests take them: trusted
// clicks and key presses, waiting on the markers the console sets.

// click clicks the element whose id is id.
func click(tb testing.TB, ctx context.Context, id string) {
	tb.Helper()
	if err := chromedp.Do(ctx, driver.ClickID(id)); err != nil {
		tb.Fatalf("clicking #%s: %v", id, err)
	}
}

// typeInto types text into the element whose id is id.
func typeInto(tb testing.TB, ctx context.Context, id, text string) {
	tb.Helper()
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID(id), text)); err != nil {
		tb.Fatalf("typing into #%s: %v", id, err)
	}
}

// clearAndType replaces the text of the input whose id is id.
func clearAndType(tb testing.TB, ctx context.Context, id, text string) {
	tb.Helper()
	// Empty it as a person selecting all and deleting does: the input
	// event fires, so the console sees the field empty.
	js := fmt.Sprintf(`(() => {
		const el = document.getElementById(%q);
		if (!el) return false;
		el.value = "";
		el.dispatchEvent(new Event("input", {bubbles: true}));
		return true;
	})()`, id)
	if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err != nil || !ok {
		tb.Fatalf("clearing #%s: ok=%v err=%v", id, ok, err)
	}
	typeInto(tb, ctx, id, text)
}

// choose selects value in the <select> whose id is id, as a person picks
// an option: the change event fires.
func choose(tb testing.TB, ctx context.Context, id, value string) {
	tb.Helper()
	js := fmt.Sprintf(`(() => {
		const s = document.getElementById(%q);
		if (!s || ![...s.options].some(o => o.value === %q)) return false;
		s.value = %q;
		s.dispatchEvent(new Event("change", {bubbles: true}));
		return true;
	})()`, id, value, value)
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
	if err != nil || !ok {
		tb.Fatalf("choosing %q in #%s: ok=%v err=%v", value, id, ok, err)
	}
}

// waitFor waits until the CSS selector matches a visible element.
func waitFor(tb testing.TB, ctx context.Context, sel string) {
	tb.Helper()
	wctx, cancel := beforeDeadline(ctx)
	defer cancel()
	if err := chromedp.Do(wctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		tb.Fatalf("waiting for %s: %v\n%s", sel, err, pageState(ctx))
	}
}

// beforeDeadline returns ctx with a deadline a few seconds before its own,
// so that a wait that runs out still leaves the tab time to say what it
// shows (pageState).
func beforeDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) > 10*time.Second {
		return context.WithDeadline(ctx, d.Add(-5*time.Second))
	}
	return context.WithCancel(ctx)
}

// pageState describes what the tab shows, for a failed wait: its address,
// every error and alert on the page, and the start of the main content's
// text.
func pageState(ctx context.Context) string {
	js := `(() => {
  const alerts = [...document.querySelectorAll('.error, [role="alert"], .callout')].map(e => e.textContent.trim()).filter(Boolean);
  const main = (document.querySelector('main') || document.body || {}).innerText || "";
  return "page " + location.pathname + "\nerrors and callouts: " + JSON.stringify(alerts) + "\nshows: " + main.slice(0, 1500);
})()`
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		return "(the page could not say what it shows: " + err.Error() + ")"
	}
	return s
}

// textOf returns the text of the element whose id is id.
func textOf(tb testing.TB, ctx context.Context, id string) string {
	tb.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
	if err != nil {
		tb.Fatalf("reading #%s: %v", id, err)
	}
	return s
}

// attr returns an attribute of the first element the selector matches.
func attr(tb testing.TB, ctx context.Context, sel, name string) string {
	tb.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(
		`(document.querySelector(%q) || {getAttribute: () => ""}).getAttribute(%q) || ""`, sel, name)))
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// goTo opens a console page by clicking its navigation link, as a person
// does: the page changes without a reload, so the vault stays unlocked.
func goTo(tb testing.TB, ctx context.Context, id string) {
	tb.Helper()
	click(tb, ctx, "nav-"+id)
	waitFor(tb, ctx, fmt.Sprintf(`#nav-%s[aria-current="page"]`, id))
}

// signIn opens the console at the sign-in page and signs in.
func signIn(tb testing.TB, ctx context.Context, name, password string) {
	tb.Helper()
	wctx, cancel := beforeDeadline(ctx)
	defer cancel()
	// The whole suite signs the same accounts in from one address: the
	// server's limit may ask it to wait, as it would a person.
	if err := driver.SignIn(wctx, env.server.URL+"/signin?next=/keys", name, password); err != nil {
		tb.Fatalf("%v\n%s", err, pageState(ctx))
	}
	waitFor(tb, ctx, `#nav-keys[aria-current="page"]`)
}

// createVault creates the vault on the Keys page.
func createVault(tb testing.TB, ctx context.Context, passphrase string) {
	tb.Helper()
	waitFor(tb, ctx, `#vault[data-state="none"]`)
	typeInto(tb, ctx, "vault-pass", passphrase)
	typeInto(tb, ctx, "vault-pass-confirm", passphrase)
	click(tb, ctx, "vault-create")
	waitFor(tb, ctx, `#vault[data-state="unlocked"]`)
}

// unlockVault unlocks the vault on the Keys page.
func unlockVault(tb testing.TB, ctx context.Context, passphrase string) {
	tb.Helper()
	waitFor(tb, ctx, `#vault[data-state="locked"]`)
	typeInto(tb, ctx, "vault-pass", passphrase)
	click(tb, ctx, "vault-unlock")
	waitFor(tb, ctx, `#vault[data-state="unlocked"]`)
}

// generateKey generates a key on the Keys page and returns its ID.
func generateKey(tb testing.TB, ctx context.Context, alg, name string) string {
	tb.Helper()
	choose(tb, ctx, "keygen-alg", alg)
	clearAndType(tb, ctx, "keygen-name", name)
	click(tb, ctx, "keygen-submit")
	sel := fmt.Sprintf(`tr[data-testid="key-row"][data-algorithm=%q]`, alg)
	waitFor(tb, ctx, sel)
	id := attr(tb, ctx, sel, "data-key-id")
	if len(id) != 64 {
		tb.Fatalf("key id %q is not a SHA-256", id)
	}
	return id
}

// downloads saves the downloads of a tab's browser context in a directory
// and hands them over as they complete.
type downloads struct {
	dir  string
	mu   sync.Mutex
	name map[string]string // guid → suggested file name
	done chan download
}

type download struct {
	name string
	path string
}

// catchDownloads makes the tab of ctx save its downloads in a temporary
// directory, named by their GUIDs.
func catchDownloads(tb testing.TB, ctx context.Context) *downloads {
	tb.Helper()
	c := chromedp.FromContext(ctx)
	d := &downloads{dir: tb.TempDir(), name: map[string]string{}, done: make(chan download, 16)}
	begins := chromedp.BrowserEvents(ctx, browser.DownloadWillBegin)
	progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	go func() {
		for ev, err := range begins {
			if err != nil {
				return
			}
			d.mu.Lock()
			d.name[ev.GUID] = ev.SuggestedFilename
			d.mu.Unlock()
		}
	}()
	go func() {
		for ev, err := range progress {
			if err != nil {
				return
			}
			if ev.State != browser.DownloadProgressStateCompleted {
				continue
			}
			d.mu.Lock()
			name := d.name[ev.GUID]
			d.mu.Unlock()
			d.done <- download{name: name, path: filepath.Join(d.dir, ev.GUID)}
		}
	}()
	events := true
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: d.dir,
		BrowserContextID: cdp.BrowserContextID(c.BrowserContextID), EventsEnabled: &events,
	}); err != nil {
		tb.Fatal(err)
	}
	return d
}

// next waits for the next completed download and returns its suggested
// name and contents.
func (d *downloads) next(tb testing.TB, ctx context.Context) (string, []byte) {
	tb.Helper()
	select {
	case dl := <-d.done:
		b, err := os.ReadFile(dl.path)
		if err != nil {
			tb.Fatal(err)
		}
		return dl.name, b
	case <-ctx.Done():
		tb.Fatal("no download completed")
	}
	return "", nil
}

// setFile sets the file of a file input, as choosing it in the picker does.
func setFile(tb testing.TB, ctx context.Context, id, path string) {
	tb.Helper()
	if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.ID(id), []string{path})); err != nil {
		tb.Fatalf("choosing %s in #%s: %v", path, id, err)
	}
}

func hasText(tb testing.TB, ctx context.Context, id, want string) {
	tb.Helper()
	got := textOf(tb, ctx, id)
	if !strings.Contains(got, want) {
		tb.Errorf("#%s says %q, want it to mention %q", id, got, want)
	}
}

// waitText waits until the element whose id is id shows text containing
// want: messages replace each other in place, so waiting for the element
// alone could read the previous one.
func waitText(tb testing.TB, ctx context.Context, id, want string) {
	tb.Helper()
	js := fmt.Sprintf(`(() => { const e = document.getElementById(%q); return !!e && e.textContent.includes(%q); })()`, id, want)
	wctx, cancel := beforeDeadline(ctx)
	defer cancel()
	if _, err := chromedp.Run(wctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.getElementById(%q) || {}).textContent || ""`, id)))
		tb.Fatalf("waiting for #%s to say %q (it says %q): %v\n%s", id, want, got, err, pageState(ctx))
	}
}
