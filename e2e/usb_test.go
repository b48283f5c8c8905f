package e2e

import (
	"testing"

	"trustforge/devices/sim"
	"trustforge/e2e/driver"
)

// TestDevicesOverWebUSB reaches a board that exposes SMP on a vendor bulk
// interface, through the WebUSB shim: the console opens the granted device,
// claims the interface, reads the slots and uploads over bulk transfers;
// unplugged, it says so, and plugged back in it reconnects.
func TestDevicesOverWebUSB(t *testing.T) {
	ctx, _ := newTab(t)
	b, err := sim.New(sim.Config{SlotSize: 256 << 10, Name: "usb-board"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Program(signedImage(t, "3.0.0", nil, 8<<10)); err != nil {
		t.Fatal(err)
	}
	// No serial port at all: the real navigator.serial is never asked.
	if _, err := driver.InstallSerialShim(ctx, ""); err != nil {
		t.Fatal(err)
	}
	usb, err := driver.InstallUSBShim(ctx, "", driver.ShimUSBDevice{
		ID: "usb-1", VendorID: 0x2fe3, ProductID: 0x0005, Product: "Thermo X2", Serial: "A1B2C3", Granted: true, Device: b,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := driver.Open(ctx, env.server.URL+"/devices"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `button[data-testid="granted-usb"]`)
	click(t, ctx, "usbdev-0")
	waitFor(t, ctx, `#link-status[data-state="connected"][data-kind="usb"]`)
	hasText(t, ctx, "link-status", "Thermo X2 (2fe3:0005) serial A1B2C3")
	waitSlot(t, ctx, 0, "3.0.0", "active")
	hasText(t, ctx, "board-node", "usb-board")

	img := signedImage(t, "3.1.0", nil, 24<<10)
	setFile(t, ctx, "upload-file", writeFile(t, "app-3.1.0.bin", img))
	waitFor(t, ctx, "#upload-file-info")
	click(t, ctx, "upload-start")
	waitFor(t, ctx, "#upload-message")
	waitSlot(t, ctx, 1, "3.1.0")

	if err := usb.Unplug("usb-1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `#link-unplugged`)
	if err := usb.Plug("usb-1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `#link-status[data-state="connected"][data-kind="usb"]`)
	click(t, ctx, "board-refresh")
	waitSlot(t, ctx, 1, "3.1.0")
	if n := len(usb.Opens()); n != 2 {
		t.Errorf("the interface was claimed %d times, want twice (before and after the replug)", n)
	}
}
