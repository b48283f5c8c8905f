package e2e

import (
	"crypto/rand"
	"testing"

	"trustforge/crypto/espimg"
	"trustforge/devices/sim"
	"trustforge/e2e/driver"
)

// TestDevicesESP32 detects a simulated ESP32-C3 on a granted Web Serial
// port from the Devices page (the console resets it into download mode
// through DTR/RTS), flashes a bootloader, a partition table and an app,
// each verified by the chip's MD5, and the board then boots the app. An
// image for another chip is refused before anything is written.
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
		click(t, ctx, "esp-connect")
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

	writes := b.FlashWrites()
	s3 := espimg.MustBuildForTest(espimg.ESP32S3, 0)
	click(t, ctx, "esp-connect")
	waitText(t, ctx, "esp-chip", "ESP32-C3")
	setFile(t, ctx, "esp-file", writeFile(t, "s3.bin", s3))
	waitFor(t, ctx, "#esp-file-info")
	clearAndType(t, ctx, "esp-offset", "0x10000")
	click(t, ctx, "esp-flash")
	waitText(t, ctx, "esp-error", "ESP32-S3")
	if b.FlashWrites() != writes {
		t.Error("the flash was written before the wrong-chip image was refused")
	}
}
