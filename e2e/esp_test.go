package e2e

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"trustforge/crypto/espimg"
	"trustforge/devices/sim"
	"trustforge/e2e/driver"
)

// TestDevicesESP32 detects a simulated ESP32-C3 on a granted Web Serial
// port from the Devices page (the console resets it into download mode
// through DTR/RTS), flashes a bootloader, a partition table and an app,
// each verified by the chip's MD5, and the board then boots the app. Then
// it burns a Secure Boot v2 key digest and SECURE_BOOT_EN (each shown and
// confirmed first): the board boots a signed app and refuses an unsigned
// one. Then it burns a flash encryption key and SPI_BOOT_CRYPT_CNT and
// flashes with the ROM encrypting: the board boots the encrypted, signed
// set. An image for another chip is refused before anything is written.
func TestDevicesESP32(t *testing.T) {
	ctx, _ := newTab(t)
	b := sim.NewESPBoard(sim.ESPConfig{RunAtStart: true})
	if _, err := driver.InstallSerialShim(ctx, driver.ChooseFirst, driver.ShimPort{
		ID: "esp32c3-1", VendorID: 0x303a, ProductID: 0x1001, Granted: true, Device: b,
	}); err != nil {
		t.Fatal(err)
	}
	signIn(t, ctx, technicianName, technicianPass)
	goTo(t, ctx, "devices")

	bl, _ := espimg.Build(espimg.BuildOptions{Chip: espimg.ESP32C3, MinRev: 3, Entry: 0x403C0000}, espimg.Segment{Addr: 0x403C0000, Data: make([]byte, 4000)})
	pt, _ := espimg.BuildPartitionTable([]espimg.Partition{{Type: 0, SubType: 0, Offset: 0x10000, Size: 0x100000, Label: "factory"}})
	code := make([]byte, 30000)
	rand.Read(code)
	app, _ := espimg.Build(espimg.BuildOptions{Chip: espimg.ESP32C3, MinRev: 3, Entry: 0x42000020},
		espimg.Segment{Addr: 0x3C000020, Data: espimg.MarshalAppDesc(espimg.AppDesc{Version: "2.1.0", ProjectName: "pump-ctl"})},
		espimg.Segment{Addr: 0x42000020, Data: code})
	for i, part := range []struct {
		name, offset string
		data         []byte
	}{{"bootloader.bin", "0x0", bl}, {"partition-table.bin", "0x8000", pt}, {"pump-ctl.bin", "0x10000", app}} {
		detect(t, ctx)
		waitText(t, ctx, "esp-chip", "ESP32-C3 revision v0.4")
		if i == 0 {
			hasText(t, ctx, "esp-mac", "58:cf:79:00:00:01")
			hasText(t, ctx, "esp-flash-size", "4 MB")
			hasText(t, ctx, "esp-secure-boot", "off")
			hasText(t, ctx, "esp-efuses", "BLOCK_KEY0")
		}
		setFile(t, ctx, "esp-file", writeFile(t, part.name, part.data))
		waitFor(t, ctx, "#esp-file-info")
		clearAndType(t, ctx, "esp-offset", part.offset)
		click(t, ctx, "esp-flash")
		waitText(t, ctx, "esp-message", "verified with the chip's MD5")
	}
	r, boots := b.LastBoot()
	if !r.OK || r.App.ProjectName != "pump-ctl" || r.App.Version != "2.1.0" {
		t.Fatalf("after flashing from the console the board's boot %d: %+v", boots, r)
	}

	// Trust anchors: the Secure Boot key digest, then SECURE_BOOT_EN, each
	// shown with the eFuses it changes and burned only once confirmed.
	key, err := espimg.GenerateKey(rand.Reader, espimg.RSA3072)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, _ := espimg.MarshalPublicKey(key.Public())
	detect(t, ctx)
	setFile(t, ctx, "esp-sb-key", writeFile(t, "sb-pub.pem", pubPEM))
	waitText(t, ctx, "esp-plan-changes", "KEY_PURPOSE_0 = SECURE_BOOT_DIGEST0")
	hasText(t, ctx, "esp-plan", "cannot be undone")
	if disabled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("esp-burn").disabled`)); err != nil || !disabled {
		t.Errorf("Burn is enabled before the step is confirmed (%v)", err)
	}
	click(t, ctx, "esp-confirm")
	waitFor(t, ctx, "#esp-burn:enabled")
	click(t, ctx, "esp-burn")
	waitText(t, ctx, "esp-message", "Burned")
	hasText(t, ctx, "esp-efuses", "SECURE_BOOT_DIGEST0")
	click(t, ctx, "esp-plan-secure-boot")
	waitText(t, ctx, "esp-plan-changes", "SECURE_BOOT_EN = 1")
	click(t, ctx, "esp-confirm")
	waitFor(t, ctx, "#esp-burn:enabled")
	click(t, ctx, "esp-burn")
	waitText(t, ctx, "esp-message", "Burned")
	waitText(t, ctx, "esp-secure-boot", "on")

	flash := func(name, offset string, data []byte) {
		t.Helper()
		detect(t, ctx)
		setFile(t, ctx, "esp-file", writeFile(t, name, data))
		waitFor(t, ctx, "#esp-file-info")
		clearAndType(t, ctx, "esp-offset", offset)
		click(t, ctx, "esp-flash")
		waitText(t, ctx, "esp-message", "verified with the chip's MD5")
	}
	sign := func(img []byte) []byte {
		s, err := espimg.Sign(rand.Reader, img, key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	app2, _ := espimg.Build(espimg.BuildOptions{Chip: espimg.ESP32C3, MinRev: 3, Entry: 0x42000020},
		espimg.Segment{Addr: 0x3C000020, Data: espimg.MarshalAppDesc(espimg.AppDesc{Version: "2.2.0", ProjectName: "pump-ctl"})},
		espimg.Segment{Addr: 0x42000020, Data: code[:20000]})
	flash("bootloader-signed.bin", "0x0", sign(bl))
	flash("pump-ctl-signed.bin", "0x10000", sign(app2))
	if r, n := b.LastBoot(); !r.OK || r.App.Version != "2.2.0" || !r.SecureBoot {
		t.Fatalf("signed app with Secure Boot on, boot %d: %+v", n, r)
	}
	app3, _ := espimg.Build(espimg.BuildOptions{Chip: espimg.ESP32C3, MinRev: 3, Entry: 0x42000020},
		espimg.Segment{Addr: 0x3C000020, Data: espimg.MarshalAppDesc(espimg.AppDesc{Version: "2.3.0", ProjectName: "pump-ctl"})},
		espimg.Segment{Addr: 0x42000020, Data: code[:25000]})
	flash("pump-ctl-unsigned.bin", "0x10000", app3)
	if r, n := b.LastBoot(); r.OK || !strings.Contains(r.Reason, "secure boot") {
		t.Fatalf("unsigned app with Secure Boot on, boot %d: %+v", n, r)
	}

	// Flash encryption: a key drawn in the browser and burned read-protected,
	// then SPI_BOOT_CRYPT_CNT; the ROM encrypts what is written from then on.
	detect(t, ctx)
	click(t, ctx, "esp-plan-fe-key")
	waitText(t, ctx, "esp-plan-changes", "XTS_AES_128_KEY")
	hasText(t, ctx, "esp-plan-changes", "read-protected")
	click(t, ctx, "esp-confirm")
	waitFor(t, ctx, "#esp-burn:enabled")
	click(t, ctx, "esp-burn")
	waitText(t, ctx, "esp-message", "Burned")
	click(t, ctx, "esp-plan-fe")
	waitText(t, ctx, "esp-plan-changes", "SPI_BOOT_CRYPT_CNT = 001")
	click(t, ctx, "esp-confirm")
	waitFor(t, ctx, "#esp-burn:enabled")
	click(t, ctx, "esp-burn")
	waitText(t, ctx, "esp-message", "Burned")
	waitText(t, ctx, "esp-flash-encryption", "on")
	click(t, ctx, "esp-encrypt")
	flashEnc := func(name, offset string, data []byte) {
		t.Helper()
		detect(t, ctx)
		setFile(t, ctx, "esp-file", writeFile(t, name, data))
		waitFor(t, ctx, "#esp-file-info")
		clearAndType(t, ctx, "esp-offset", offset)
		click(t, ctx, "esp-flash")
		waitText(t, ctx, "esp-message", "encrypted by the chip")
	}
	signedApp := sign(app2)
	flashEnc("bootloader-signed.bin", "0x0", sign(bl))
	flashEnc("partition-table.bin", "0x8000", pt)
	flashEnc("pump-ctl-signed.bin", "0x10000", signedApp)
	if r, n := b.LastBoot(); !r.OK || !r.FlashEncryption || !r.SecureBoot || r.App.Version != "2.2.0" {
		t.Fatalf("encrypted, signed app, boot %d: %+v", n, r)
	}
	if got := b.FlashContents(0x10000, 256); string(got) == string(signedApp[:256]) {
		t.Error("the app is in flash as plaintext")
	}

	writes := b.FlashWrites()
	s3 := espimg.MustBuildForTest(espimg.ESP32S3, 0)
	detect(t, ctx)
	setFile(t, ctx, "esp-file", writeFile(t, "s3.bin", s3))
	waitFor(t, ctx, "#esp-file-info")
	clearAndType(t, ctx, "esp-offset", "0x10000")
	click(t, ctx, "esp-flash")
	waitText(t, ctx, "esp-error", "ESP32-S3")
	if b.FlashWrites() != writes {
		t.Error("the flash was written before the wrong-chip image was refused")
	}
}

// detect clicks Detect ESP32 and waits for a fresh detection: the old
// board summary goes away while the board is reset and read again.
func detect(t *testing.T, ctx context.Context) {
	t.Helper()
	// The ESP32 panel is the page's last: what loads above it moves it.
	settle(t, ctx)
	click(t, ctx, "esp-connect")
	gone := `!document.getElementById("esp-info")`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](gone, chromedp.WithPollingInterval(5*time.Millisecond))); err != nil {
		t.Fatalf("waiting for the ESP32 panel to start detecting: %v", err)
	}
	waitText(t, ctx, "esp-chip", "ESP32-C3")
}
