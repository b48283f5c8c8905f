package e2e

import (
	"bytes"
	"crypto/rand"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"trustforge/crypto/keys"
	"trustforge/devices/dfu"
	"trustforge/devices/sim"
	"trustforge/e2e/driver"
)

// TestDFUZephyrSlotOverWebUSB: a Zephyr board with the USB DFU class,
// granted to the console, is opened for DFU (detached into DFU mode: a new
// USB device); a signed, encrypted release is verified and decrypted in the
// browser and its image written into image-1 and read back; reset, MCUboot
// checks its signature and test-boots it, and the console confirms it over
// the board's SMP interface.
func TestDFUZephyrSlotOverWebUSB(t *testing.T) {
	ctx, _ := newTab(t)
	f := newFleet(t)
	b, err := sim.New(sim.Config{SlotSize: 128 << 10, Name: "zephyr-dfu", BootKeys: []*keys.PublicKey{f.key.Public()}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Program(signedImage(t, "1.0.0", f.key, 8<<10)); err != nil {
		t.Fatal(err)
	}
	z := sim.NewZephyrDFU(b, sim.ZephyrDFUConfig{Serial: "Z-0001"})
	if _, err := driver.InstallSerialShim(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := driver.InstallUSBShim(ctx, "", driver.ShimUSBDevice{
		ID: "zephyr", VendorID: sim.ZephyrVendorID, ProductID: sim.ZephyrProductID, Product: "Thermo Z", Serial: "Z-0001",
		Granted: true, Device: b, USB: z.USB,
	}); err != nil {
		t.Fatal(err)
	}
	f.technicianReady(t, ctx)
	goTo(t, ctx, "devices")
	waitFor(t, ctx, `button[data-testid="dfu-open"]`)
	click(t, ctx, "dfu-open-0")
	waitFor(t, ctx, `#dfu-device[data-mode="dfu"]`)
	waitFor(t, ctx, `tr[data-testid="dfu-alt"][data-name="image-1"]`)
	waitFor(t, ctx, `tr[data-testid="dfu-alt"][data-name="image-0"]`)

	built := f.release(t, "1.1.0", 40<<10)
	choose(t, ctx, "dfu-target", "1")
	setFile(t, ctx, "dfu-file", writeFile(t, "thermo-1.1.0.tfb", built.Bundle.Bytes()))
	waitText(t, ctx, "dfu-file-info", "release "+f.product+" 1.1.0 (verified")
	click(t, ctx, "dfu-write")
	waitText(t, ctx, "dfu-message", "into image-1, read back and compared: identical")

	click(t, ctx, "dfu-reset")
	waitText(t, ctx, "dfu-message", "test-boots")
	eventually(t, ctx, "the board test-boots 1.1.0", func() bool {
		r := b.Running()
		return r.Version.String() == "1.1.0+0" && !r.Confirmed && b.Powered()
	})
	// The application's own means: SMP on its vendor interface.
	// The board is back in run-time mode: a new USB device, its product ID
	// the application's, listed once the console has seen it connect.
	waitText(t, ctx, "usbdev-0", "(2fe3:0100)")
	click(t, ctx, "usbdev-0")
	waitFor(t, ctx, `#link-status[data-state="connected"][data-kind="usb"]`)
	waitSlot(t, ctx, 0, "1.1.0", "active")
	click(t, ctx, "confirm-running")
	waitText(t, ctx, "board-message", "confirmed")
	if r := b.Running(); r.Version.String() != "1.1.0+0" || !r.Confirmed {
		t.Fatalf("the board runs %+v, want 1.1.0 confirmed", r)
	}
}

// TestDFUSTM32OverWebUSB: an STM32 system bootloader gets a .dfu file
// written, read back and compared, then RDP level 1 set behind the
// "cannot be undone" confirmation, after which reads are refused.
func TestDFUSTM32OverWebUSB(t *testing.T) {
	ctx, _ := newTab(t)
	s, err := sim.NewDfuSe(sim.DfuSeConfig{Serial: "ST-0042"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := driver.InstallSerialShim(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := driver.InstallUSBShim(ctx, "", driver.ShimUSBDevice{
		ID: "stm32", VendorID: sim.STVendorID, ProductID: sim.STDfuSeProductID, Product: "STM32  BOOTLOADER", Serial: "ST-0042",
		Granted: true, USB: s.USB,
	}); err != nil {
		t.Fatal(err)
	}
	app := make([]byte, 80<<10)
	rand.Read(app)
	f := &dfu.File{VendorID: sim.STVendorID, ProductID: sim.STDfuSeProductID, Device: dfu.AnyID,
		Targets: []dfu.Target{{Name: "ST...", Elements: []dfu.Element{{Address: 0x08000000, Data: app}}}}}
	file, err := f.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if err := driver.Open(ctx, env.server.URL+"/devices"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `button[data-testid="dfu-open"]`)
	click(t, ctx, "dfu-open-0")
	waitFor(t, ctx, `#dfu-device[data-kind="ST DfuSe"]`)
	hasText(t, ctx, "dfu-alt-0", "Internal Flash at 0x08000000, 1.0 MiB in 12 sector(s) (4 × 16.0 KiB, 1 × 64.0 KiB, 7 × 128.0 KiB)")
	waitFor(t, ctx, `#dfu-rdp[data-level="RDP level 0"]`)

	setFile(t, ctx, "dfu-file", writeFile(t, "app.dfu", file))
	waitText(t, ctx, "dfu-file-info", "DfuSe file, 1 target(s) for 0483:df11, suffix CRC valid")
	click(t, ctx, "dfu-write")
	waitText(t, ctx, "dfu-message", "read back and compared: identical")
	if !bytes.Equal(s.Flash()[:len(app)], app) {
		t.Fatal("the flash does not hold the file")
	}
	click(t, ctx, "dfu-readback")
	waitText(t, ctx, "dfu-message", "Read back 80.0 KiB: identical")

	disabled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("dfu-rdp-set").disabled`))
	if err != nil || !disabled {
		t.Fatalf("RDP can be set without ticking the confirmation (%v)", err)
	}
	click(t, ctx, "dfu-rdp-confirm")
	waitFor(t, ctx, "#dfu-rdp-set:not([disabled])")
	click(t, ctx, "dfu-rdp-set")
	waitText(t, ctx, "dfu-message", "Read-out protection is now RDP level 1")
	waitFor(t, ctx, `#dfu-rdp[data-level="RDP level 1"]`)
	if s.RDP() != dfu.RDP1 {
		t.Fatalf("the part is at %v", s.RDP())
	}
	click(t, ctx, "dfu-readback")
	waitText(t, ctx, "dfu-error", "errVENDOR")
	hasText(t, ctx, "dfu-error", "read-out protection")
}

// TestDFUUnpluggedMidWrite pulls a Zephyr board's cable while the console
// writes slot 1: the console says so, and plugged back the board still
// runs its confirmed image.
func TestDFUUnpluggedMidWrite(t *testing.T) {
	ctx, _ := newTab(t)
	b, err := sim.New(sim.Config{SlotSize: 128 << 10, Name: "zephyr-unplug"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Program(signedImage(t, "1.0.0", nil, 8<<10)); err != nil {
		t.Fatal(err)
	}
	// Slow flash writes, so the cable comes out half way.
	z := sim.NewZephyrDFU(b, sim.ZephyrDFUConfig{Serial: "Z-0002", WriteTime: 20 * time.Millisecond})
	if _, err := driver.InstallSerialShim(ctx, ""); err != nil {
		t.Fatal(err)
	}
	usb, err := driver.InstallUSBShim(ctx, "", driver.ShimUSBDevice{
		ID: "zephyr", VendorID: sim.ZephyrVendorID, ProductID: sim.ZephyrProductID, Product: "Thermo Z", Serial: "Z-0002",
		Granted: true, Device: b, USB: z.USB,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := driver.Open(ctx, env.server.URL+"/devices"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `button[data-testid="dfu-open"]`)
	click(t, ctx, "dfu-open-0")
	waitFor(t, ctx, `tr[data-testid="dfu-alt"][data-name="image-1"]`)
	choose(t, ctx, "dfu-target", "1")
	setFile(t, ctx, "dfu-file", writeFile(t, "app-1.1.0.signed", signedImage(t, "1.1.0", nil, 60<<10)))
	waitText(t, ctx, "dfu-file-info", "1.1.0")
	click(t, ctx, "dfu-write")
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`Number((document.getElementById("dfu-progress") || {dataset: {}}).dataset.done) > 16384`,
		chromedp.WithPollingInterval(5*time.Millisecond))); err != nil {
		t.Fatalf("waiting for the write to be under way: %v", err)
	}
	if err := usb.Unplug("zephyr"); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, "dfu-error", "unplugged")
	if err := usb.Plug("zephyr"); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, "dfu-open-0", "(2fe3:0100)")
	if r := b.Running(); r.Recovery || r.Version.String() != "1.0.0+0" || !r.Confirmed {
		t.Fatalf("after the unplug the board runs %+v, want 1.0.0 confirmed", r)
	}
}
