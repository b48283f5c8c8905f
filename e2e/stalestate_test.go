package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"trustforge/e2e/driver"
)

// The console once showed stale state in six places, from two habits of
// go-app v10.1.3: it keeps an element's old event handler when the new one
// comes from the same function literal (so a row's button kept the first
// row's release), and it drops the dispatches of an event handler whose
// element a render has replaced (so a component stayed "busy" for ever).
// wasm/ui/stalestate_test.go holds every component to the rules; the tests
// here replay each instance as a person met it.

// clickSel clicks the first element the CSS selector matches.
func clickSel(tb testing.TB, ctx context.Context, sel string) {
	tb.Helper()
	if err := chromedp.Do(ctx, driver.Click(sel)); err != nil {
		tb.Fatalf("clicking %s: %v", sel, err)
	}
}

// valueOf returns the value of the input whose id is id.
func valueOf(tb testing.TB, ctx context.Context, id string) string {
	tb.Helper()
	v, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID(id)))
	if err != nil {
		tb.Fatalf("reading #%s: %v", id, err)
	}
	return v
}

// TestStaleFlashThisRelease: with 1.0.0 downloaded first and 1.3.0 after,
// the 1.3.0 row takes the first place of the list; its "Flash this
// release" must start the update with 1.3.0, not with the release the row
// held before.
func TestStaleFlashThisRelease(t *testing.T) {
	f := newFleet(t)
	f.publish(t, f.release(t, "1.0.0", 16<<10))
	f.publish(t, f.release(t, "1.3.0", 16<<10))

	ctx, _ := newTab(t)
	f.technicianReady(t, ctx)
	goTo(t, ctx, "devices")
	click(t, ctx, "open-update")
	waitFor(t, ctx, `#update-steps[data-screen="release"]`)
	waitPresent(t, ctx, `#update-product option[value="`+f.product+`"]`)
	choose(t, ctx, "update-product", f.product)
	choose(t, ctx, "update-channel", "stable")
	waitFor(t, ctx, "#offered-releases")
	// After each download the offered releases are listed again; their
	// table must stay while that happens: collapsed to "Listing…" and back,
	// it moved the downloaded releases' buttons under the pointer, and a
	// click meant for one landed elsewhere.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.__tfRelisted = 0;
		new MutationObserver((ms) => { for (const m of ms) for (const n of m.addedNodes)
			if (n.id === "offered-listing") window.__tfRelisted++; }).observe(document.body, {subtree: true, childList: true});`)); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.0.0", "1.3.0"} {
		clickSel(t, ctx, `button[data-testid="download-release"][data-version="`+v+`"]`)
		waitFor(t, ctx, `button[data-testid="use-release"][data-version="`+v+`"]`)
	}
	// 1.3.0's row shows it downloaded once the listing after its download
	// is in.
	waitFor(t, ctx, `#offered-releases tr[data-version="1.3.0"] .badge-ok`)
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.__tfRelisted`))
	if err != nil || n != 0 {
		t.Errorf("the offered releases' table gave way to \"Listing…\" %d times after downloads (err %v)", n, err)
	}
	if first := attr(t, ctx, `tr[data-testid="cached-release"]`, "data-version"); first != "1.3.0" {
		t.Fatalf("the newest download is listed at %q; the test needs it to take the first row", first)
	}
	clickSel(t, ctx, `button[data-testid="use-release"][data-version="1.3.0"]`)
	waitFor(t, ctx, `#update-steps[data-screen="board"]`)
	if got := textOf(t, ctx, "update-chosen"); !strings.Contains(got, f.product+" 1.3.0") {
		t.Errorf("the update starts with %q, want %s 1.3.0", got, f.product)
	}
}

// TestStaleLockNow: after "Lock now" the passphrase field is empty and
// Unlock works; the passphrase typed to create the vault does not linger
// in the field, and the button does not stay on "Unlocking…".
func TestStaleLockNow(t *testing.T) {
	ctx, _ := newTab(t)
	signIn(t, ctx, engineerName, engineerPass)
	createVault(t, ctx, engineerVaultPass)
	click(t, ctx, "vault-lock")
	waitFor(t, ctx, `#vault[data-state="locked"]`)
	if v := valueOf(t, ctx, "vault-pass"); v != "" {
		t.Errorf("after Lock now the passphrase field holds %d characters, want it empty", len(v))
	}
	if got := textOf(t, ctx, "vault-unlock"); got != "Unlock" {
		t.Errorf("the unlock button reads %q, want Unlock", got)
	}
	unlockVault(t, ctx, engineerVaultPass)
	// And once more: the second lock starts from an empty field too.
	click(t, ctx, "vault-lock")
	waitFor(t, ctx, `#vault[data-state="locked"]`)
	if v := valueOf(t, ctx, "vault-pass"); v != "" {
		t.Errorf("after the second Lock now the field holds %d characters", len(v))
	}
	unlockVault(t, ctx, engineerVaultPass)
}

// TestStaleVersionField: choosing the firmware file leaves Version as the
// engineer left it; typing a version after the file gives that version.
func TestStaleVersionField(t *testing.T) {
	ctx, _ := newTab(t)
	signIn(t, ctx, engineerName, engineerPass)
	createVault(t, ctx, engineerVaultPass)
	generateKey(t, ctx, "ed25519", "release key")
	goTo(t, ctx, "releases")
	setFile(t, ctx, "publish-file", writeFile(t, "app.bin", make([]byte, 4096)))
	waitFor(t, ctx, "#publish-file-info")
	typeInto(t, ctx, "publish-version", "2.1.0")
	if got := valueOf(t, ctx, "publish-version"); got != "2.1.0" {
		t.Errorf("Version holds %q after typing 2.1.0", got)
	}
	// A second file keeps the typed version as it is.
	setFile(t, ctx, "publish-file", writeFile(t, "app2.bin", make([]byte, 8192)))
	waitText(t, ctx, "publish-file-info", "app2.bin")
	if got := valueOf(t, ctx, "publish-version"); got != "2.1.0" {
		t.Errorf("Version holds %q after choosing another file, want 2.1.0", got)
	}
}

// TestStaleKeysProductList: a product created while the Keys page is open
// is offered when the engineer goes to choose one.
func TestStaleKeysProductList(t *testing.T) {
	first := env.accounts.newProduct(t)
	ctx, _ := newTab(t)
	signIn(t, ctx, engineerName, engineerPass)
	createVault(t, ctx, engineerVaultPass)
	generateKey(t, ctx, "ed25519", "release key")
	waitPresent(t, ctx, `#register-product option[value="`+first+`"]`)

	later := env.accounts.newProduct(t)
	if err := chromedp.Do(ctx, chromedp.Focus(chromedp.ID("register-product"))); err != nil {
		t.Fatal(err)
	}
	waitPresent(t, ctx, `#register-product option[value="`+later+`"]`)
	choose(t, ctx, "register-product", later)
}

// TestStaleReleaseListAfterPromote: after a promote the list reloads and
// shows the new channel; it does not sit on "Loading and verifying…".
func TestStaleReleaseListAfterPromote(t *testing.T) {
	f := newFleet(t)
	rel := f.publish(t, f.release(t, "1.0.0", 16<<10))
	slug := rel.ID[:16]

	ctx, _ := newTab(t)
	signIn(t, ctx, engineerName, engineerPass)
	goTo(t, ctx, "releases")
	waitPresent(t, ctx, `#list-product option[value="`+f.product+`"]`)
	choose(t, ctx, "list-product", f.product)
	row := `tr[data-release="` + rel.ID + `"]`
	waitFor(t, ctx, row+`[data-verified="true"]`)
	choose(t, ctx, "release-promote-to-"+slug, "beta")
	click(t, ctx, "release-promote-"+slug)
	waitText(t, ctx, "releases-message", "Promoted 1.0.0 to beta")
	waitFor(t, ctx, row+`[data-channels*="beta"]`)
	waitPresent(t, ctx, "#releases-loading-list[hidden]")
	waitFor(t, ctx, `#releases-table[data-loaded="true"]`)
}

// TestStaleRegistryListsOnOpen: the device registry lists the boards (or
// says there are none) as soon as the Identity page opens, without a
// search.
func TestStaleRegistryListsOnOpen(t *testing.T) {
	ctx, _ := newTab(t)
	signIn(t, ctx, engineerName, engineerPass)
	goTo(t, ctx, "identity")
	waitFor(t, ctx, `#registry-table, #registry-empty`)
	if n := attr(t, ctx, "#registry-table", "id"); n == "" {
		hasText(t, ctx, "registry-empty", "No board has been provisioned yet")
	}
}
