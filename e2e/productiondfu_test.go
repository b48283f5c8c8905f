package e2e

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"trustforge/crypto/production"
	"trustforge/devices/dfu"
	"trustforge/devices/sim"
	"trustforge/e2e/driver"
)

// TestProductionFormDFU: an engineer builds, in the Releases page's
// production form, a package that asks STM32 boards to get the image at
// 0x08004000 and read-out protection; a mistyped address and the
// unconfirmed irreversible step are refused with clear errors, and the
// package list shows the settings. A station opens the package, its
// operator confirms the protection, and a simulated STM32 DfuSe bootloader
// is written at that address, read back and set to RDP level 1, after
// which it refuses reads.
func TestProductionFormDFU(t *testing.T) {
	bg := context.Background()
	product := env.accounts.newProduct(t)
	stationUser := "stm32-" + product
	if err := env.accounts.createUser(bg, stationUser, "station", stationPass); err != nil {
		t.Fatal(err)
	}

	// The station: an STM32 in its bootloader granted over WebUSB, no
	// serial boards.
	sctx, _ := newWorkTab(t, 8*time.Minute)
	if _, err := driver.InstallSerialShim(sctx, driver.ChooseCancel); err != nil {
		t.Fatal(err)
	}
	st, err := sim.NewDfuSe(sim.DfuSeConfig{Serial: "3276365F3034"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := driver.InstallUSBShim(sctx, "", driver.ShimUSBDevice{ID: "stm32", VendorID: sim.STVendorID,
		ProductID: sim.STDfuSeProductID, Product: "STM32  BOOTLOADER", Serial: "3276365F3034", Granted: true, USB: st.USB}); err != nil {
		t.Fatal(err)
	}
	line := enrolStation(t, sctx, stationUser, "STM32 line station")

	// The engineer: vault, release key (imported, registered), an age
	// identity that opens the product's releases, the device CA and a
	// profile with the release key as boot key.
	ectx, _ := newWorkTab(t, 8*time.Minute)
	releaseKey, keyID := lineEngineer(t, ectx, product, "Acme STM32", "stm32-release.pem", false)
	rel, image := publishEngineerRelease(t, product, releaseKey, nil)

	// The production form, its USB DFU part filled in.
	goTo(t, ectx, "releases")
	waitFor(t, ectx, "#production-form")
	chooseListed(t, ectx, "production-product", product)
	chooseListed(t, ectx, "production-release", rel.ID)
	clearAndType(t, ectx, "production-batch", "stm32-"+product)
	clearAndType(t, ectx, "production-count", "1")
	choose(t, ectx, "production-mode", string(production.ImageClear))
	click(t, ectx, "production-station-"+stationUser)
	choose(t, ectx, "production-key", keyID)
	// build clicks the build button and waits for a result or for an
	// error other than the one shown before the click (the console
	// renders the click's answer after its handler runs; a changed text is no
	// DOM mutation the mutation poll sees, so it polls on an interval).
	lastErr := ""
	build := func() string {
		t.Helper()
		click(t, ectx, "production-build")
		got, err := chromedp.Run(ectx, chromedp.Poll[string](fmt.Sprintf(`(() => {
			const e = document.getElementById("production-error");
			if (e && e.textContent && e.textContent !== %q) return "error: " + e.textContent;
			const r = document.getElementById("production-result");
			return r ? r.dataset.package : null;
		})()`, lastErr), chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(5*time.Minute)))
		if err != nil {
			state, _ := chromedp.Run(ectx, chromedp.Evaluate[string](`JSON.stringify({
				error: (document.getElementById("production-error") || {}).textContent,
				address: document.getElementById("production-dfu-address").value,
				dfu: Object.assign({}, document.getElementById("production-dfu").dataset)})`))
			t.Fatalf("building the package: %v; the form shows %s", err, state)
		}
		lastErr, _ = strings.CutPrefix(got, "error: ")
		return got
	}
	// A mistyped address is refused, nothing built.
	clearAndType(t, ectx, "production-dfu-address", "0x0800400g")
	if got := build(); !strings.Contains(got, "error: ") || !strings.Contains(got, "not a hexadecimal address such as 0x08000000") {
		t.Fatalf("a mistyped address: %q", got)
	}
	clearAndType(t, ectx, "production-dfu-address", "0x08004000")
	// Read-out protection, unconfirmed, is refused.
	click(t, ectx, "production-dfu-rdp")
	waitFor(t, ectx, "#production-dfu-rdp-warning")
	hasText(t, ectx, "production-dfu-rdp-warning", "cannot be undone")
	if got := build(); !strings.Contains(got, "error: ") || !strings.Contains(got, "Confirm that read-out protection cannot be undone") {
		t.Fatalf("unconfirmed read-out protection: %q", got)
	}
	click(t, ectx, "production-dfu-rdp-confirm")
	waitFor(t, ectx, `#production-dfu[data-confirmed="true"]`)
	// The form with its irreversible-step warning passes axe-core's checks.
	for _, v := range runAxe(t, ectx) {
		t.Errorf("the production form with read-out protection asked for: %s", v)
	}
	got := build()
	if msg, failed := strings.CutPrefix(got, "error: "); failed {
		t.Fatalf("building the package: %s", msg)
	}
	pkgID := got
	hasText(t, ectx, "production-result", "at 0x08004000, then RDP level 1")
	row := `tr[data-package="` + pkgID + `"][data-dfu-address="0x08004000"][data-dfu-rdp="true"]`
	waitFor(t, ectx, row)
	if text := textOf(t, ectx, "package-"+pkgID[:16]); !strings.Contains(text, "at 0x08004000, then RDP level 1") {
		t.Errorf("the package's row says %q", text)
	}

	// The station: refused until its operator confirms, then written at
	// the package's address and protected.
	if err := line.Open(pkgID); err != nil {
		t.Fatal(err)
	}
	hasText(t, sctx, "station-rdp", "cannot be undone")
	if err := line.ConfirmReadOutProtection(); err != nil {
		t.Fatal(err)
	}
	run, err := line.Program()
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Boards) != 1 {
		t.Fatalf("the run reports %d boards: %+v", len(run.Boards), run.Boards)
	}
	if b := run.Boards[0]; b.State != "done" || b.Device != "3276365f3034" || b.Ticket == "" ||
		!strings.Contains(b.Detail, "RDP level 1") || !strings.Contains(b.Detail, "refuses to read") {
		t.Errorf("the STM32: %+v", b)
	}
	flash := st.Flash()
	if !bytes.Equal(flash[0x4000:0x4000+len(image)], image) {
		t.Error("the STM32's flash at 0x08004000 does not hold the release's image")
	}
	if !bytes.Equal(flash[:0x4000], bytes.Repeat([]byte{0xff}, 0x4000)) {
		t.Error("the STM32's first sector was written, not the package's address")
	}
	if st.RDP() != dfu.RDP1 {
		t.Errorf("the STM32 is at %v, want RDP level 1", st.RDP())
	}
	if n := auditCount(t, "production.ticket", pkgID); n != 1 {
		t.Errorf("%d tickets in the audit log, want 1", n)
	}
}
