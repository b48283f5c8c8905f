package e2e

import (
	"crypto/rand"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestPublishOwnRecipientAndDraft: an engineer with no recipient makes one
// from the publish form in one click; it is listed once and ticked. The
// file, version and notes survive a trip to the Keys page, a file can be
// dropped on the form, and the release publishes to the engineer, who can
// open it.
func TestPublishOwnRecipientAndDraft(t *testing.T) {
	product := env.accounts.newProduct(t)
	ctx, _ := newTab(t)
	signIn(t, ctx, engineerName, engineerPass)
	createVault(t, ctx, engineerVaultPass)
	keyID := generateKey(t, ctx, "ed25519", "release key")
	choose(t, ctx, "register-product", product)
	click(t, ctx, "key-register-"+keyID[:16])
	waitText(t, ctx, "keys-message", "Registered")

	goTo(t, ctx, "releases")
	// The release list above the form arrives after it and pushes it down:
	// a click on the form before then can land where its button was.
	settle(t, ctx)
	own := `input[data-testid="recipient"][data-own="true"][data-here="true"]`
	// erin may have published a recipient from another test's vault: it is
	// hers but not in this browser, so the one-click maker is offered still
	// and replaces it.
	waitFor(t, ctx, `#publish-make-recipient, `+own)
	if attr(t, ctx, own, "data-recipient") == "" {
		click(t, ctx, "publish-make-recipient")
	}
	waitFor(t, ctx, own+":checked")
	recip := attr(t, ctx, own, "data-recipient")
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](
		`document.querySelectorAll('input[data-testid="recipient"][data-recipient="`+recip+`"]').length`))
	if err != nil || n != 1 {
		t.Errorf("the engineer's recipient is listed %d times (%v), want once", n, err)
	}

	// The draft survives leaving the page.
	fw := make([]byte, 24<<10)
	rand.Read(fw)
	setFile(t, ctx, "publish-file", writeFile(t, "draft.bin", fw))
	waitText(t, ctx, "publish-file-info", "draft.bin")
	choose(t, ctx, "publish-product", product)
	typeInto(t, ctx, "publish-version", "3.1.4")
	typeInto(t, ctx, "publish-notes", "kept across pages")
	goTo(t, ctx, "keys")
	goTo(t, ctx, "releases")
	waitText(t, ctx, "publish-file-info", "draft.bin")
	if v := valueOf(t, ctx, "publish-version"); v != "3.1.4" {
		t.Errorf("Version is %q after coming back, want 3.1.4", v)
	}
	if v := valueOf(t, ctx, "publish-notes"); v != "kept across pages" {
		t.Errorf("notes are %q after coming back", v)
	}
	if v := valueOf(t, ctx, "publish-product"); v != product {
		t.Errorf("product is %q after coming back, want %s", v, product)
	}
	waitFor(t, ctx, own+":checked")

	// A dropped file takes the chosen one's place; a wrong kind is refused.
	dropFile(t, ctx, "publish-drop", "notes.txt", "not firmware")
	waitText(t, ctx, "publish-file-error", "neither a .bin nor a .hex")
	waitText(t, ctx, "publish-file-info", "draft.bin")
	dropFile(t, ctx, "publish-drop", "dropped.bin", strings.Repeat("\x5a", 4096))
	waitText(t, ctx, "publish-file-info", "dropped.bin")

	click(t, ctx, "publish-submit")
	waitFor(t, ctx, "#publish-result")
	relID := attr(t, ctx, "#publish-result", "data-release")
	waitFor(t, ctx, `tr[data-release="`+relID+`"][data-verified="true"]`)
	// The engineer is a recipient: the release opens in this browser.
	dl := catchDownloads(t, ctx)
	click(t, ctx, "release-open-"+relID[:16])
	name, img := dl.next(t, ctx)
	if !strings.HasSuffix(name, ".signed.bin") || len(img) < 4096 {
		t.Errorf("opened %q (%d bytes)", name, len(img))
	}
}
