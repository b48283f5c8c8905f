package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/chromedp/chromedp"

	"trustforge/crypto/keys"
	"trustforge/e2e/driver"
	"trustforge/wasm/client"
)

const (
	engineerVaultPass   = "engineer vault passphrase"
	technicianVaultPass = "technician vault passphrase"
	backupPass          = "backup passphrase for the test"
)

// TestEngineerPublishesTechnicianOpens is the console's main flow: an
// engineer creates a vault, generates an Ed25519 key, registers it with a
// product and publishes a release from a firmware file, which the list
// shows verified; a technician, in another browser context, opens it with
// the age identity of their own vault. The opened image is byte for byte
// the one the CLI makes from the same file and key; the CLI verifies the
// release and the image; and no request either browser made carries the
// firmware, a private key or a vault passphrase.
func TestEngineerPublishesTechnicianOpens(t *testing.T) {
	product := env.accounts.newProduct(t)

	// The technician makes an age identity and publishes its recipient.
	tctx, _ := newTab(t)
	tnet := recordRequests(t, tctx)
	signIn(t, tctx, technicianName, technicianPass)
	createVault(t, tctx, technicianVaultPass)
	ageID := generateKey(t, tctx, "age-x25519", "field laptop")
	click(t, tctx, "key-publish-"+ageID[:16])
	waitText(t, tctx, "keys-message", "Published")

	// The engineer makes a vault and a signing key, registers the key and
	// backs the vault up.
	ectx, _ := newTab(t)
	enet := recordRequests(t, ectx)
	edl := catchDownloads(t, ectx)
	signIn(t, ectx, engineerName, engineerPass)
	createVault(t, ectx, engineerVaultPass)
	keyID := generateKey(t, ectx, "ed25519", "release key")
	choose(t, ectx, "register-product", product)
	click(t, ectx, "key-register-"+keyID[:16])
	waitText(t, ectx, "keys-message", "Registered release key with "+product)
	typeInto(t, ectx, "backup-pass", backupPass)
	click(t, ectx, "backup-export")
	name, backup := edl.next(t, ectx)
	if !strings.HasSuffix(name, ".age") {
		t.Errorf("backup saved as %q, want an .age file", name)
	}
	keyPEM := keyFromBackup(t, backup, "ed25519")
	signingKey, err := keys.ParsePrivateKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}

	// The engineer publishes a release of a firmware file.
	dir := t.TempDir()
	fw := make([]byte, 96<<10)
	rand.Read(fw)
	fwPath := filepath.Join(dir, "app.bin")
	os.WriteFile(fwPath, fw, 0o644)
	goTo(t, ectx, "releases")
	waitFor(t, ectx, `input[data-testid="recipient"][data-user="`+technicianName+`"]`)
	publishFile(t, ectx, product, fwPath, "1.2.3", "3", "0x40000", technicianName)
	relID := attr(t, ectx, "#publish-result", "data-release")
	manifest := textOf(t, ectx, "publish-manifest")
	for _, want := range []string{`"product": "` + product + `"`, `"version": "1.2.3"`, `"security_counter": 3`} {
		if !strings.Contains(manifest, want) {
			t.Errorf("manifest shown lacks %s:\n%s", want, manifest)
		}
	}
	row := `tr[data-release="` + relID + `"]`
	waitFor(t, ectx, row+`[data-verified="true"]`)

	// The engineer's bundle download verifies with the CLI.
	click(t, ectx, "release-download-"+relID[:16])
	name, bundle := edl.next(t, ectx)
	if !strings.HasSuffix(name, ".tfb") {
		t.Errorf("bundle saved as %q", name)
	}
	pubPath := filepath.Join(dir, "release-key.pub.pem")
	os.WriteFile(pubPath, signingKey.Public().MarshalPEM(), 0o644)
	bundlePath := filepath.Join(dir, "release.tfb")
	os.WriteFile(bundlePath, bundle, 0o644)
	runCLI(t, "release", "inspect", "-k", pubPath, bundlePath)

	// The technician opens the release with their vault's identity. Their
	// role publishes, promotes and yanks nothing, so none of it is shown.
	tdl := catchDownloads(t, tctx)
	goTo(t, tctx, "releases")
	// The server holds other tests' products too: pick this one, as a
	// technician picks the product they came for.
	if err := chromedp.Do(tctx, chromedp.WaitReady(chromedp.CSS(`#list-product option[value="`+product+`"]`))); err != nil {
		t.Fatalf("the technician's product list lacks %s: %v", product, err)
	}
	choose(t, tctx, "list-product", product)
	waitFor(t, tctx, row+`[data-verified="true"]`)
	for _, sel := range []string{"#publish", "#release-promote-" + relID[:16], "#release-yank-" + relID[:16]} {
		if n, _ := chromedp.Run(tctx, chromedp.Evaluate[int](`document.querySelectorAll('`+sel+`').length`)); n != 0 {
			t.Errorf("the technician is offered %s", sel)
		}
	}
	// Click once the page has stopped changing, as a person looks before
	// clicking: on a loaded machine the page was still laying out and the
	// click meant for Open landed on Download below it.
	settle(t, tctx)
	click(t, tctx, "release-open-"+relID[:16])
	name, opened := tdl.next(t, tctx)
	if !strings.HasSuffix(name, ".signed.bin") {
		t.Errorf("image saved as %q", name)
	}
	waitText(t, tctx, "releases-message", "Opened and verified 1.2.3")

	// The same file and key through the CLI give the same image.
	keyPath := filepath.Join(dir, "release-key.pem")
	os.WriteFile(keyPath, keyPEM, 0o600)
	cliImage := filepath.Join(dir, "cli.signed.bin")
	runCLI(t, "image", "sign", "-k", keyPath, "--version", "1.2.3", "--header-size", "0x200", "--pad-header",
		"--slot-size", "0x40000", "--align", "8", "-s", "3", fwPath, cliImage)
	want, _ := os.ReadFile(cliImage)
	if !bytes.Equal(opened, want) {
		t.Errorf("the opened image (%d bytes) differs from the CLI's (%d bytes)", len(opened), len(want))
	}
	openedPath := filepath.Join(dir, "opened.signed.bin")
	os.WriteFile(openedPath, opened, 0o644)
	runCLI(t, "image", "verify", "-k", pubPath, openedPath)

	// The engineer promotes the release to stable, then yanks it.
	choose(t, ectx, "release-promote-to-"+relID[:16], "stable")
	click(t, ectx, "release-promote-"+relID[:16])
	waitText(t, ectx, "releases-message", "Promoted 1.2.3 to stable")
	// The list reloads after the promotion: the row shows stable once it
	// has, and the reason goes into that row.
	waitFor(t, ectx, row+`[data-channels*="stable"][data-verified="true"]`)
	typeInto(t, ectx, "release-yank-reason-"+relID[:16], "wrong calibration table")
	click(t, ectx, "release-yank-"+relID[:16])
	waitFor(t, ectx, row+`[data-yanked="true"]`)
	rels, err := env.accounts.admin.Releases(context.Background(), client.Filter{Product: product, Yanked: true})
	if err != nil || len(rels) != 1 || rels[0].Yanked == nil || !rels[0].OfferedOn("stable") {
		t.Errorf("the server's record after promote and yank: %+v, %v", rels, err)
	}

	// Nothing secret left either browser.
	pkcs8, _ := signingKey.MarshalPKCS8()
	seed := signingKey.Crypto().(interface{ Seed() []byte }).Seed()
	secrets := append(firmwareSecrets(fw),
		newSecret("the signing key (PKCS#8)", pkcs8),
		newSecret("the signing key's seed", seed),
		newSecret("the signing key's PEM", keyPEM[30:90]),
		newSecret("an age identity", []byte("AGE-SECRET-KEY-1")),
		newSecret("the engineer's vault passphrase", []byte(engineerVaultPass)),
		newSecret("the technician's vault passphrase", []byte(technicianVaultPass)),
		newSecret("the backup passphrase", []byte(backupPass)),
	)
	uploads := 0
	for _, r := range enet.requests(t) {
		if r.method == "POST" && strings.HasSuffix(r.url, "/api/releases") {
			uploads++
			if int64(len(r.body)) < int64(len(fw)) {
				t.Errorf("the recorded upload holds %d bytes, less than the firmware: the recorder missed the body", len(r.body))
			}
		}
	}
	if uploads != 1 {
		t.Errorf("recorded %d uploads, want 1", uploads)
	}
	if n := enet.checkNoSecrets(t, secrets); n < 3 {
		t.Errorf("only %d request bodies recorded from the engineer's tab", n)
	}
	tnet.checkNoSecrets(t, secrets)
}

// publishFile fills the publish form and publishes, waiting for the
// result; it returns the time from the click on Publish to the result
// shown.
func publishFile(tb testing.TB, ctx context.Context, product, path, version, counter, slot, recipient string) time.Duration {
	tb.Helper()
	setFile(tb, ctx, "publish-file", path)
	waitFor(tb, ctx, "#publish-file-info")
	choose(tb, ctx, "publish-product", product)
	choose(tb, ctx, "publish-channel", "beta")
	clearAndType(tb, ctx, "publish-version", version)
	clearAndType(tb, ctx, "publish-counter", counter)
	clearAndType(tb, ctx, "publish-slot-size", slot)
	if sel := `input[data-testid="recipient"][data-user="` + recipient + `"]`; attr(tb, ctx, sel, "data-recipient") != "" {
		checked, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('`+sel+`').checked`))
		if !checked {
			if err := chromedp.Do(ctx, driver.Click(sel)); err != nil {
				tb.Fatal(err)
			}
		}
	}
	prev := attr(tb, ctx, "#publish-result", "data-release")
	start := time.Now()
	click(tb, ctx, "publish-submit")
	// Wait for a new result, or an error.
	got, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => {
		const e = document.getElementById("publish-error");
		if (e && e.textContent) return "error: " + e.textContent;
		const r = document.getElementById("publish-result");
		return r && r.dataset.release !== `+jsString(prev)+` ? r.dataset.release : null;
	})()`, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(2*time.Minute)))
	if err != nil {
		tb.Fatal(err)
	}
	if strings.HasPrefix(got, "error: ") {
		tb.Fatalf("publishing failed: %s", got)
	}
	return time.Since(start)
}

// keyFromBackup opens a vault backup as age would and returns the first
// private key of algorithm alg, as PEM.
func keyFromBackup(tb testing.TB, backup []byte, alg string) []byte {
	tb.Helper()
	id, err := age.NewScryptIdentity(backupPass)
	if err != nil {
		tb.Fatal(err)
	}
	r, err := age.Decrypt(bytes.NewReader(backup), id)
	if err != nil {
		tb.Fatalf("the backup does not open with age: %v", err)
	}
	plain, _ := io.ReadAll(r)
	var doc struct {
		Keys []struct {
			Algorithm string `json:"algorithm"`
			Private   string `json:"private"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(plain, &doc); err != nil {
		tb.Fatal(err)
	}
	for _, k := range doc.Keys {
		if k.Algorithm == alg {
			return []byte(k.Private)
		}
	}
	tb.Fatalf("no %s key in the backup", alg)
	return nil
}

// runCLI runs the trustforge binary the server runs and fails tb unless it
// exits 0.
func runCLI(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := exec.Command(env.bin, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("trustforge %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestPublishCancel cancels a 16 MiB publish while it runs: the page says
// so and the server holds no release.
func TestPublishCancel(t *testing.T) {
	product := env.accounts.newProduct(t)
	ctx, _ := newTab(t)
	signIn(t, ctx, engineerName, engineerPass)
	createVault(t, ctx, engineerVaultPass)
	keyID := generateKey(t, ctx, "ed25519", "release key")
	generateKey(t, ctx, "age-x25519", "own identity")
	choose(t, ctx, "register-product", product)
	click(t, ctx, "key-register-"+keyID[:16])
	waitText(t, ctx, "keys-message", "Registered")
	goTo(t, ctx, "releases")
	// The engineer's own identity is offered first, and ticked.
	me := `input[data-testid="recipient"][data-own="true"]`
	waitFor(t, ctx, me)

	fw := make([]byte, 16<<20)
	rand.Read(fw)
	path := filepath.Join(t.TempDir(), "big.bin")
	os.WriteFile(path, fw, 0o644)
	setFile(t, ctx, "publish-file", path)
	waitFor(t, ctx, "#publish-file-info")
	choose(t, ctx, "publish-product", product)
	clearAndType(t, ctx, "publish-version", "2.0.0")
	if checked, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('`+me+`').checked`)); !checked {
		t.Fatal("the engineer's own recipient is not ticked")
	}
	click(t, ctx, "publish-submit")
	waitFor(t, ctx, "#publish-progress")
	click(t, ctx, "publish-cancel")
	waitText(t, ctx, "publish-error", "Cancelled")
	rels, err := env.accounts.admin.Releases(context.Background(), client.Filter{Product: product, Yanked: true})
	if err != nil || len(rels) != 0 {
		t.Errorf("after the cancel the server lists %d releases (%v)", len(rels), err)
	}
}
