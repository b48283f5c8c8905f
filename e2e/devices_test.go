package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"trustforge/e2e/driver"
)

// TestDevicesFlashRelease connects to a board on a granted serial port
// (the Web Serial shim, bridged to a simulated board in this process),
// reads its slots, uploads a signed, encrypted release (verified against
// the product's keys and decrypted with the technician's vault in the
// browser), marks it for a test boot, resets the board and confirms the new
// image: the board then runs it for good.
func TestDevicesFlashRelease(t *testing.T) {
	f := newFleet(t)
	ctx, _ := newTab(t)
	b := newBoard(t, ctx, boardOptions{Running: "1.0.0", BootKey: f.key})
	f.technicianReady(t, ctx)
	goTo(t, ctx, "devices")

	connectBoard(t, ctx, b)
	hasText(t, ctx, "link-status", "USB 2fe3:0100 at 115200 baud")
	waitSlot(t, ctx, 0, "1.0.0", "active", "confirmed")
	hasText(t, ctx, "board-bootloader", "MCUboot")
	hasText(t, ctx, "board-hardware", simHardware)
	hasText(t, ctx, "board-params", "bytes")
	if opens := b.shim.Opens(); len(opens) != 1 || opens[0].BaudRate != 115200 {
		t.Errorf("the page opened the port %v, want once at 115200 baud", opens)
	}

	rel := f.release(t, "1.1.0", 48<<10, simHardware)
	setFile(t, ctx, "upload-file", writeFile(t, "thermo-1.1.0.tfb", rel.Bundle.Bytes()))
	waitFor(t, ctx, "#upload-file-info")
	hasText(t, ctx, "upload-file-info", "verified")
	click(t, ctx, "upload-start")
	waitFor(t, ctx, "#upload-message")
	hasText(t, ctx, "upload-message", "the board checked its SHA-256")
	waitSlot(t, ctx, 1, "1.1.0")

	click(t, ctx, "slot-0-1-test")
	waitSlot(t, ctx, 1, "1.1.0", "pending")
	click(t, ctx, "board-reset")
	waitSlot(t, ctx, 0, "1.1.0", "active")
	if v, confirmed := b.runs(); v != "1.1.0" || confirmed {
		t.Errorf("after the test boot the board runs %s (confirmed %v), want an unconfirmed 1.1.0", v, confirmed)
	}
	click(t, ctx, "confirm-running")
	waitSlot(t, ctx, 0, "1.1.0", "active", "confirmed")
	if v, confirmed := b.runs(); v != "1.1.0" || !confirmed {
		t.Errorf("the board runs %s (confirmed %v), want a confirmed 1.1.0", v, confirmed)
	}

	// The engineer's view of the exchange.
	click(t, ctx, "smp-log-toggle")
	waitFor(t, ctx, "#smp-log")
	if log := textOf(t, ctx, "smp-log"); !strings.Contains(log, "sent image write id 1") || !strings.Contains(log, "connected to USB 2fe3:0100") {
		t.Errorf("the SMP log lacks the upload:\n%s", log)
	}
}

// TestDevicesUnplugResumes unplugs the board in the middle of an upload:
// the page says so plainly; plugged back in, the console reconnects and the
// upload goes on from the board's offset, and the board boots the image.
func TestDevicesUnplugResumes(t *testing.T) {
	ctx, _ := newTab(t)
	b := newBoard(t, ctx, boardOptions{Running: "2.0.0", Baud: 1_000_000})
	if err := driver.Open(ctx, env.server.URL+"/devices"); err != nil {
		t.Fatal(err)
	}
	connectBoard(t, ctx, b)
	hasText(t, ctx, "link-status", "at 1000000 baud")
	waitSlot(t, ctx, 0, "2.0.0", "active")

	img := signedImage(t, "2.1.0", nil, 160<<10)
	setFile(t, ctx, "upload-file", writeFile(t, "app-2.1.0.bin", img))
	waitFor(t, ctx, "#upload-file-info")
	click(t, ctx, "upload-start")

	// Pull the cable once a third is on the board.
	third := len(img) / 3
	waitFor(t, ctx, `#upload-progress`)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(
		`Number(document.getElementById("upload-progress").dataset.offset) > %d`, third), chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		t.Fatal(err)
	}
	if err := b.shim.Unplug(b.port); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `#link-unplugged`)
	waitFor(t, ctx, `#upload-unplugged`)
	hasText(t, ctx, "link-unplugged", "Board unplugged")
	cut, _ := strconv.Atoi(attr(t, ctx, "#upload-progress", "data-offset"))

	if err := b.shim.Plug(b.port); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "#upload-message")
	waitGone(t, ctx, "#link-unplugged")
	hasText(t, ctx, "upload-message", "resumed 1 time(s) from where the board stopped")
	sent, _ := strconv.Atoi(attr(t, ctx, "#upload-message", "data-bytes"))
	if sent >= len(img)-cut/2 || sent <= 0 {
		t.Errorf("after the replug %d bytes were sent of %d (cut at %d): the upload did not resume from the board's offset", sent, len(img), cut)
	}
	if opens := b.shim.Opens(); len(opens) != 2 {
		t.Errorf("the port was opened %d times, want twice (before and after the replug)", len(opens))
	}

	// The resumed image is whole: the board boots it. The panels above the
	// upload (the board's details, the DFU list) may still be settling after
	// the replug, and a click at a point the button has just left is lost:
	// click until the panel answers, as a person would.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(() => {
		const m = document.getElementById("upload-message");
		if (m && m.textContent.includes("boot once at the next reset")) return true;
		const b = document.getElementById("upload-test");
		if (b) b.dispatchEvent(new MouseEvent("click", {bubbles: true}));
		return false;
	})()`, chromedp.WithPollingInterval(time.Second))); err != nil {
		t.Fatalf("testing the uploaded image: %v", err)
	}
	waitSlot(t, ctx, 1, "2.1.0", "pending")
	click(t, ctx, "board-reset")
	waitSlot(t, ctx, 0, "2.1.0", "active")
	if v, _ := b.runs(); v != "2.1.0" {
		t.Errorf("the board runs %s, want 2.1.0", v)
	}
}

// TestDevicesChooser picks a port in the browser's chooser, and gives up on
// a chooser that never answers, as headless Chromium's does.
func TestDevicesChooser(t *testing.T) {
	ctx, _ := newTab(t)
	b := newBoard(t, ctx, boardOptions{Running: "1.0.0", NotGranted: true, Chooser: driver.ChooseHang})
	if err := driver.Open(ctx, env.server.URL+"/devices"); err != nil {
		t.Fatal(err)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="granted-port"]').length`)); n != 0 {
		t.Errorf("%d granted ports listed, want none before a choice", n)
	}
	click(t, ctx, "serial-choose")
	waitFor(t, ctx, "#chooser-waiting")
	click(t, ctx, "chooser-cancel")
	waitGone(t, ctx, "#chooser-waiting")
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#connect-error").length`)); n != 0 {
		t.Errorf("cancelling the chooser shows an error: %q", textOf(t, ctx, "connect-error"))
	}

	if err := b.shim.SetChooser(driver.ChooseCancel); err != nil {
		t.Fatal(err)
	}
	click(t, ctx, "serial-choose")
	waitFor(t, ctx, "#connect-error")
	hasText(t, ctx, "connect-error", "No port was chosen")

	if err := b.shim.SetChooser(b.port); err != nil {
		t.Fatal(err)
	}
	click(t, ctx, "serial-choose")
	waitFor(t, ctx, `#link-status[data-state="connected"]`)
	waitSlot(t, ctx, 0, "1.0.0", "active")

	// Disconnected, the chosen port is now granted: it is listed, and
	// connects again without the chooser.
	click(t, ctx, "link-disconnect")
	waitFor(t, ctx, `button[data-testid="granted-port"]`)
	click(t, ctx, "port-0")
	waitFor(t, ctx, `#link-status[data-state="connected"]`)
}
