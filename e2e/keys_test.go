package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"trustforge/crypto/keys"
)

// TestVaultSurvivesReload: the vault lives in IndexedDB, sealed: after a
// reload it is still there, locked, its keys listed; a wrong passphrase is
// refused and changes nothing; the right one unlocks it.
func TestVaultSurvivesReload(t *testing.T) {
	ctx, _ := newTab(t)
	signIn(t, ctx, engineerName, engineerPass)
	createVault(t, ctx, "reload passphrase 1")
	id := generateKey(t, ctx, "ecdsa-p256", "survivor")
	generateKey(t, ctx, "x25519", "device key")

	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `#console[data-ready="true"]`)
	waitFor(t, ctx, `#vault[data-state="locked"]`)
	waitFor(t, ctx, `#key-`+id[:16])
	if got := attr(t, ctx, `#key-`+id[:16], "data-key-id"); got != id {
		t.Errorf("after the reload the key's id is %q, want %q", got, id)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('tr[data-testid="key-row"]').length`)); n != 2 {
		t.Errorf("%d keys listed after the reload, want 2", n)
	}
	// Locked: nothing can be generated, imported or deleted.
	for _, sel := range []string{"#keygen", "#key-import", "#backup", "#key-delete-" + id[:16]} {
		if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('`+sel+`').length`)); n != 0 {
			t.Errorf("%s is offered while the vault is locked", sel)
		}
	}

	typeInto(t, ctx, "vault-pass", "not the passphrase")
	click(t, ctx, "vault-unlock")
	waitText(t, ctx, "vault-error", "Wrong passphrase")
	if st := attr(t, ctx, "#vault", "data-state"); st != "locked" {
		t.Errorf("after a wrong passphrase the vault is %q", st)
	}
	clearAndType(t, ctx, "vault-pass", "reload passphrase 1")
	click(t, ctx, "vault-unlock")
	waitFor(t, ctx, `#vault[data-state="unlocked"]`)
	click(t, ctx, "vault-lock")
	waitFor(t, ctx, `#vault[data-state="locked"]`)
}

// TestImportKeys imports imgtool PEM keys by the file picker and by
// dropping them, and refuses a public key and a damaged backup with a clear
// message, leaving the vault as it was.
func TestImportKeys(t *testing.T) {
	ctx, _ := newTab(t)
	dl := catchDownloads(t, ctx)
	signIn(t, ctx, engineerName, engineerPass)
	createVault(t, ctx, "import passphrase 1")

	// The file picker.
	setFile(t, ctx, "import-file", testdata(t, "ecdsa-p256.pem"))
	waitText(t, ctx, "import-message", "ecdsa-p256.pem")
	waitFor(t, ctx, `tr[data-testid="key-row"][data-algorithm="ecdsa-p256"]`)
	// imgtool's key hash of that key.
	if id := attr(t, ctx, `tr[data-testid="key-row"][data-algorithm="ecdsa-p256"]`, "data-key-id"); id != imgtoolP256KeyHash {
		t.Errorf("imported key hash %s, want imgtool's %s", id, imgtoolP256KeyHash)
	}

	// Its public key exports as imgtool's DER and as the C array a
	// bootloader build embeds.
	slug := imgtoolP256KeyHash[:16]
	click(t, ctx, "key-export-der-"+slug)
	name, der := dl.next(t, ctx)
	if want, _ := os.ReadFile(testdata(t, "ecdsa-p256-pub.der")); !bytes.Equal(der, want) || !strings.HasSuffix(name, ".der") {
		t.Errorf("DER export %s differs from imgtool's public key", name)
	}
	click(t, ctx, "key-export-c-"+slug)
	name, csrc := dl.next(t, ctx)
	pub, _ := keys.ParseSPKI(der)
	if string(csrc) != pub.CSource() || !strings.Contains(string(csrc), "ecdsa_pub_key[]") {
		t.Errorf("C export %s:\n%s\nwant:\n%s", name, csrc, pub.CSource())
	}
	click(t, ctx, "key-export-pem-"+slug)
	if _, pemOut := dl.next(t, ctx); !strings.HasPrefix(string(pemOut), "-----BEGIN PUBLIC KEY-----") {
		t.Errorf("PEM export starts %q", pemOut[:20])
	}

	// Drag and drop.
	pem, _ := os.ReadFile(testdata(t, "ed25519.pem"))
	dropFile(t, ctx, "import-drop", "ed25519.pem", string(pem))
	waitFor(t, ctx, `tr[data-testid="key-row"][data-algorithm="ed25519"]`)

	// A public key is refused, and nothing is added.
	setFile(t, ctx, "import-file", testdata(t, "ed25519-pub.pem"))
	waitText(t, ctx, "import-error", "public key")
	// The same key again is refused without overwriting.
	setFile(t, ctx, "import-file", testdata(t, "ecdsa-p256.pem"))
	waitText(t, ctx, "import-error", "already in the vault")
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('tr[data-testid="key-row"]').length`)); n != 2 {
		t.Errorf("%d keys after the refused imports, want 2", n)
	}

	// A damaged backup is refused, and nothing changes.
	bad := filepath.Join(t.TempDir(), "damaged.age")
	os.WriteFile(bad, []byte("age-encryption.org/v1\n-> scrypt c2FsdA 10\nbroken\n"), 0o644)
	setFile(t, ctx, "restore-file", bad)
	typeInto(t, ctx, "restore-pass", "some passphrase")
	click(t, ctx, "backup-restore")
	waitFor(t, ctx, "#backup-error")
	if msg := textOf(t, ctx, "backup-error"); !strings.Contains(msg, "damaged") && !strings.Contains(msg, "Wrong passphrase") {
		t.Errorf("damaged backup: message %q", msg)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('tr[data-testid="key-row"]').length`)); n != 2 {
		t.Errorf("%d keys after the refused restore, want 2", n)
	}
}

// TestBackupRestoreInAnotherBrowser moves keys from one browser's vault to
// another's through an encrypted backup; a wrong backup passphrase is
// refused.
func TestBackupRestoreInAnotherBrowser(t *testing.T) {
	src, _ := newTab(t)
	dl := catchDownloads(t, src)
	signIn(t, src, engineerName, engineerPass)
	createVault(t, src, "first browser passphrase")
	id := generateKey(t, src, "ed25519", "moving key")
	typeInto(t, src, "backup-pass", backupPass)
	click(t, src, "backup-export")
	_, backup := dl.next(t, src)
	path := filepath.Join(t.TempDir(), "keys.age")
	os.WriteFile(path, backup, 0o644)

	dst, _ := newTab(t)
	signIn(t, dst, engineerName, engineerPass)
	createVault(t, dst, "second browser passphrase")
	setFile(t, dst, "restore-file", path)
	typeInto(t, dst, "restore-pass", "a wrong backup passphrase")
	click(t, dst, "backup-restore")
	waitText(t, dst, "backup-error", "Wrong passphrase")

	clearAndType(t, dst, "restore-pass", backupPass)
	click(t, dst, "backup-restore")
	waitText(t, dst, "backup-message", "Restored 1 key")
	waitFor(t, dst, "#key-"+id[:16])
}

// imgtoolP256KeyHash is the SHA-256 of the SPKI of testdata/ecdsa-p256.pem (ecdsa-p256-pub.der of the imgtool vectors).
const imgtoolP256KeyHash = "99df6f3dedb9811234545954e47ae75e21a79d9748f323a71c16fc60aa7d0d9f"

func testdata(tb testing.TB, name string) string {
	tb.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// dropFile drops a file with the given text on the element whose id is
// id, as a drag from the desktop does.
func dropFile(tb testing.TB, ctx context.Context, id, name, text string) {
	tb.Helper()
	js := `(() => {
		const dt = new DataTransfer();
		dt.items.add(new File([` + jsString(text) + `], ` + jsString(name) + `));
		const el = document.getElementById(` + jsString(id) + `);
		el.dispatchEvent(new DragEvent("dragover", {dataTransfer: dt, bubbles: true, cancelable: true}));
		el.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
		return true;
	})()`
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err != nil {
		tb.Fatal(err)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
