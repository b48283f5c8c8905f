package e2e

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"trustforge/crypto/bundle"
	"trustforge/crypto/espimg"
	"trustforge/crypto/keys"
	"trustforge/crypto/pki"
	"trustforge/crypto/production"
	"trustforge/crypto/vault"
	"trustforge/devices/sim"
	"trustforge/e2e/driver"
	"trustforge/wasm/client"
	"trustforge/wasm/storage"
)

// downloadAndUse picks the product's release of version v on the update
// page, downloads it and takes it to the board screen.
func downloadAndUse(t *testing.T, ctx context.Context, product, v string) {
	t.Helper()
	// From the Devices page (or the update page itself): a click on the
	// page already shown would race its re-render.
	path, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
	if err != nil {
		t.Fatal(err)
	}
	if path != "/devices/update" {
		if path != "/devices" {
			goTo(t, ctx, "devices")
		}
		waitFor(t, ctx, "#open-update")
		// Scrolled far down the Devices page, a pointer click on the link
		// can land on the sticky header instead.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.getElementById("open-update").click(), true)`)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, ctx, `#update-flow`)
	// The page keeps the last update's report: start another.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const b = document.getElementById("update-again");
		if (b) b.click();
		return true;
	})()`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `#update-steps[data-screen="release"]`)
	waitPresent(t, ctx, fmt.Sprintf(`#update-product option[value=%q]`, product))
	choose(t, ctx, "update-product", product)
	choose(t, ctx, "update-channel", "stable")
	waitFor(t, ctx, fmt.Sprintf(`button[data-testid="download-release"][data-version=%q]`, v))
	click(t, ctx, "download-0")
	waitFor(t, ctx, fmt.Sprintf(`button[data-testid="use-release"][data-version=%q]`, v))
	click(t, ctx, "use-0")
	waitFor(t, ctx, `#update-steps[data-screen="board"]`)
}

// TestUpdateGuidedDFU runs the technician's guided update on a Zephyr
// board with the USB DFU class: the check reads the board over its SMP
// interface, the image goes into image-1 over DFU and is read back, the
// reset test-boots it, and the application confirms it; the report says so
// and the board runs the new version, confirmed.
func TestUpdateGuidedDFU(t *testing.T) {
	ctx, _ := newTab(t)
	f := newFleet(t)
	b, err := sim.New(sim.Config{SlotSize: 128 << 10, Name: "zephyr-update", BootKeys: []*keys.PublicKey{f.key.Public()}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Program(signedImage(t, "1.0.0", f.key, 8<<10)); err != nil {
		t.Fatal(err)
	}
	z := sim.NewZephyrDFU(b, sim.ZephyrDFUConfig{Serial: "Z-0101"})
	if _, err := driver.InstallSerialShim(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := driver.InstallUSBShim(ctx, "", driver.ShimUSBDevice{
		ID: "zephyr", VendorID: sim.ZephyrVendorID, ProductID: sim.ZephyrProductID, Product: "Thermo Z", Serial: "Z-0101",
		Granted: true, Device: b, USB: z.USB,
	}); err != nil {
		t.Fatal(err)
	}
	f.publish(t, f.release(t, "1.1.0", 40<<10))
	f.technicianReady(t, ctx)
	downloadAndUse(t, ctx, f.product, "1.1.0")

	choose(t, ctx, "update-kind", "dfu")
	waitFor(t, ctx, `button[data-testid="update-dfu-device"][data-serial="Z-0101"]`)
	click(t, ctx, "update-dfu-0")
	waitFor(t, ctx, `button[data-testid="update-dfu-device"][data-chosen="true"]`)
	click(t, ctx, "update-next")
	waitFor(t, ctx, "#update-ready")
	hasText(t, ctx, "update-ready", "the board runs 1.0.0")
	hasText(t, ctx, "update-detail", "over USB DFU")
	click(t, ctx, "update-flash")
	waitFor(t, ctx, `#update-outcome[data-outcome="updated"]`)
	report := textOf(t, ctx, "update-report")
	for _, want := range []string{"ok   upload", "into image-1", "read back and compared: identical", "ok   test boot",
		"ok   check version", "ok   confirm", "usb-dfu"} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %q:\n%s", want, report)
		}
	}
	if r := b.Running(); r.Version.String() != "1.1.0+0" || !r.Confirmed {
		t.Fatalf("the board runs %+v, want 1.1.0 confirmed", r)
	}
}

// espFlashSet builds an ESP32-C3 flash set (bootloader, partition table,
// app of version), signed with signer when not nil.
func espFlashSet(t *testing.T, version string, signer crypto.Signer) ([]bundle.Part, []byte) {
	t.Helper()
	bl, _ := espimg.Build(espimg.BuildOptions{Chip: espimg.ESP32C3, MinRev: 3, Entry: 0x403C0000}, espimg.Segment{Addr: 0x403C0000, Data: make([]byte, 4000)})
	pt, _ := espimg.BuildPartitionTable([]espimg.Partition{{Type: espimg.PartTypeApp, SubType: espimg.PartSubFactory, Offset: 0x10000, Size: 0x100000, Label: "factory"}})
	code := make([]byte, 30000)
	rand.Read(code)
	app, _ := espimg.Build(espimg.BuildOptions{Chip: espimg.ESP32C3, MinRev: 3, Entry: 0x42000020},
		espimg.Segment{Addr: 0x3C000020, Data: espimg.MarshalAppDesc(espimg.AppDesc{Version: version, ProjectName: "pump-ctl"})},
		espimg.Segment{Addr: 0x42000020, Data: code})
	if signer != nil {
		var err error
		if bl, err = espimg.Sign(rand.Reader, bl, signer); err != nil {
			t.Fatal(err)
		}
		if app, err = espimg.Sign(rand.Reader, app, signer); err != nil {
			t.Fatal(err)
		}
	}
	var parts []bundle.Part
	var data []byte
	for _, p := range []struct {
		name string
		off  uint32
		b    []byte
	}{{"bootloader", 0, bl}, {"partition-table", 0x8000, pt}, {"app", 0x10000, app}} {
		parts = append(parts, bundle.Part{Name: p.name, Offset: p.off, Size: int64(len(p.b)), SHA256: sha256.Sum256(p.b), Encrypt: p.name == "app"})
		data = append(data, p.b...)
	}
	return parts, data
}

// publishFlashSet publishes a flash-set release of the fleet's product
// through the API, as `trustforge esp release` and `release push` do.
func (f *fleet) publishFlashSet(t *testing.T, version string, parts []bundle.Part, data []byte) client.Release {
	t.Helper()
	v, err := bundle.ParseVersion(version)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := f.key.Signer()
	if err != nil {
		t.Fatal(err)
	}
	rcpt, err := bundle.ParseRecipient(f.tech.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	var tfb bytes.Buffer
	m := bundle.Manifest{Product: f.product, Version: v, Channel: "stable", Hardware: []string{"ESP32-C3"},
		ImageFormat: bundle.ImageFormatESPFlashSet, Parts: parts}
	if _, err := bundle.Create(context.Background(), &tfb, bytes.NewReader(data), m,
		bundle.CreateOptions{Key: signer, To: bundle.Recipients{Keys: []bundle.Recipient{rcpt}}}); err != nil {
		t.Fatal(err)
	}
	api, err := engineerAPI()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := api.Publish(context.Background(), [][]byte{tfb.Bytes()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// TestESP32SignedReleaseAndStation: a simulated ESP32-C3 on the Web Serial
// shim is detected on the Devices page and updated through the guided
// update with a signed flash set published through the API (each part
// MD5-verified); its Secure Boot v2 key digest and SECURE_BOOT_EN are
// burned, each confirmed, and after a reset the simulator boots the signed
// app. An unsigned release is refused by the console before anything is
// written, and an unsigned app written anyway is refused by the
// simulator's bootloader. A second board goes through station mode: its
// ticket is bound to its MAC, it gets the flash set and boots it.
func TestESP32SignedReleaseAndStation(t *testing.T) {
	ctx, _ := newWorkTab(t, 8*time.Minute)
	b := sim.NewESPBoard(sim.ESPConfig{RunAtStart: true})
	if _, err := driver.InstallSerialShim(ctx, driver.ChooseFirst, driver.ShimPort{
		ID: "esp32c3-1", VendorID: 0x303a, ProductID: 0x1001, Granted: true, Device: b,
	}); err != nil {
		t.Fatal(err)
	}
	f := newFleet(t)
	sbKey, err := espimg.GenerateKey(rand.Reader, espimg.RSA3072)
	if err != nil {
		t.Fatal(err)
	}
	parts, data := espFlashSet(t, "2.1.0", sbKey)
	rel := f.publishFlashSet(t, "2.1.0", parts, data)
	f.technicianReady(t, ctx)

	// Detected on the Devices page.
	goTo(t, ctx, "devices")
	detect(t, ctx)
	waitText(t, ctx, "esp-chip", "ESP32-C3 revision v0.4")
	hasText(t, ctx, "esp-secure-boot", "off")

	// The guided update with the signed flash set.
	downloadAndUse(t, ctx, f.product, "2.1.0")
	choose(t, ctx, "update-kind", "esp")
	waitFor(t, ctx, `#update-esp-ports[data-count="1"]`)
	click(t, ctx, "update-next")
	waitFor(t, ctx, "#update-ready")
	hasText(t, ctx, "update-detail", "ESP32-C3")
	click(t, ctx, "update-flash")
	waitFor(t, ctx, `#update-outcome[data-outcome="updated"]`)
	report := textOf(t, ctx, "update-report")
	for _, want := range []string{"ok   upload", "each verified with the chip's MD5", "flash encryption is off on this board: app",
		"ok   check version", "pump-ctl 2.1.0", "58:cf:79:00:00:01"} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %q:\n%s", want, report)
		}
	}
	if r, n := b.LastBoot(); !r.OK || r.App.Version != "2.1.0" {
		t.Fatalf("after the update, boot %d: %+v", n, r)
	}

	// Trust anchors: the key digest, then SECURE_BOOT_EN, each confirmed.
	pubPEM, _ := espimg.MarshalPublicKey(sbKey.Public())
	goTo(t, ctx, "devices")
	detect(t, ctx)
	setFile(t, ctx, "esp-sb-key", writeFile(t, "sb-pub.pem", pubPEM))
	waitText(t, ctx, "esp-plan-changes", "SECURE_BOOT_DIGEST0")
	click(t, ctx, "esp-confirm")
	waitFor(t, ctx, "#esp-burn:enabled")
	click(t, ctx, "esp-burn")
	waitText(t, ctx, "esp-message", "Burned")
	click(t, ctx, "esp-plan-secure-boot")
	waitText(t, ctx, "esp-plan-changes", "SECURE_BOOT_EN = 1")
	click(t, ctx, "esp-confirm")
	waitFor(t, ctx, "#esp-burn:enabled")
	click(t, ctx, "esp-burn")
	waitText(t, ctx, "esp-secure-boot", "on")
	// Reset: the bootloader checks the signed app against the digest.
	b.PowerCycle(false)
	if r, n := b.LastBoot(); !r.OK || !r.SecureBoot || r.App.Version != "2.1.0" {
		t.Fatalf("signed app with Secure Boot on, boot %d: %+v", n, r)
	}

	// An unsigned release: refused by the console, nothing written.
	uparts, udata := espFlashSet(t, "2.2.0", nil)
	f.publishFlashSet(t, "2.2.0", uparts, udata)
	writes := b.FlashWrites()
	downloadAndUse(t, ctx, f.product, "2.2.0")
	choose(t, ctx, "update-kind", "esp")
	waitFor(t, ctx, `#update-esp-ports[data-count="1"]`)
	click(t, ctx, "update-next")
	waitFor(t, ctx, `#update-outcome[data-outcome="refused"]`)
	hasText(t, ctx, "update-reason", "Secure Boot is on")
	if b.FlashWrites() != writes {
		t.Error("the unsigned release was written")
	}
	// Written anyway (the Devices page writes what it is given), the
	// simulator's bootloader refuses the unsigned app.
	goTo(t, ctx, "devices")
	detect(t, ctx)
	setFile(t, ctx, "esp-file", writeFile(t, "pump-ctl-unsigned.bin", udata[uparts[0].Size+uparts[1].Size:]))
	waitFor(t, ctx, "#esp-file-info")
	clearAndType(t, ctx, "esp-offset", "0x10000")
	click(t, ctx, "esp-flash")
	waitText(t, ctx, "esp-message", "verified with the chip's MD5")
	if r, n := b.LastBoot(); r.OK || !strings.Contains(r.Reason, "secure boot") {
		t.Fatalf("unsigned app with Secure Boot on, boot %d: %+v", n, r)
	}

	// The second board, in station mode with a ticket.
	stationESP(t, f, rel, parts, data)
}

// stationESP builds a production package of the flash-set release rel for
// a station, and the station programs a second ESP32-C3 with it.
func stationESP(t *testing.T, f *fleet, rel client.Release, parts []bundle.Part, image []byte) {
	bg := context.Background()
	stationUser := "esp-line-" + f.product
	if err := env.accounts.createUser(bg, stationUser, "station", stationPass); err != nil {
		t.Fatal(err)
	}
	sctx, _ := newWorkTab(t, 8*time.Minute)
	mac := net.HardwareAddr{0x58, 0xcf, 0x79, 0x00, 0x00, 0x02}
	b2 := sim.NewESPBoard(sim.ESPConfig{RunAtStart: true, MAC: mac})
	if _, err := driver.InstallSerialShim(sctx, driver.ChooseCancel, driver.ShimPort{
		ID: "esp32c3-2", VendorID: 0x303a, ProductID: 0x1001, Granted: true, Device: b2,
	}); err != nil {
		t.Fatal(err)
	}
	line := enrolStation(t, sctx, stationUser, "ESP line station")
	api, err := engineerAPI()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := api.Recipients(bg)
	if err != nil {
		t.Fatal(err)
	}
	var stationRcpt string
	for _, r := range rs {
		if r.User == stationUser {
			stationRcpt = r.Recipient
		}
	}
	rcpt, err := bundle.ParseRecipient(stationRcpt)
	if err != nil {
		t.Fatalf("the station's recipient %q: %v", stationRcpt, err)
	}

	// The package: a batch CA under a device root registered for the
	// product, the release's flash set in the clear, for one board.
	st := &storage.Memory{}
	v, err := vault.Create(bg, st, "engineer passphrase", vault.Options{WorkFactor: 1})
	if err != nil {
		t.Fatal(err)
	}
	ca := pki.New(st, v, pki.Options{})
	if _, err := ca.InitRoot(bg, pki.RootOptions{Organization: "Acme ESP"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.AddIntermediate(bg, pki.IntermediateOptions{Product: f.product}); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	batch, err := ca.NewBatch(bg, pki.BatchOptions{Product: f.product, Batch: "esp-" + f.product, NotBefore: start, NotAfter: start.Add(7 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.AddDeviceRoot(bg, f.product, batch.Root, "ESP line"); err != nil {
		t.Fatal(err)
	}
	rid, err := bundle.ParseDigest(rel.ID)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := f.key.Signer()
	if err != nil {
		t.Fatal(err)
	}
	var tfp bytes.Buffer
	if _, err := production.Build(bg, &tfp, production.BuildInput{
		Manifest: production.Manifest{Product: f.product, Batch: "esp-" + f.product, Count: 1, NotBefore: start, Expires: start.Add(7 * 24 * time.Hour),
			Release:   production.Release{ID: rid, Version: rel.Version, ImageFormat: bundle.ImageFormatESPFlashSet, Parts: parts},
			ImageMode: production.ImageClear, CA: batch.CA.Cert.Raw, Root: batch.Root.Raw},
		Image: image, CAKey: batch.Key, Stations: []bundle.Recipient{rcpt}, Key: signer,
	}); err != nil {
		t.Fatal(err)
	}
	pkg, err := api.PublishPackage(bg, tfp.Bytes(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := line.Open(pkg.ID); err != nil {
		t.Fatal(err)
	}
	run, err := line.Program()
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Boards) != 1 {
		t.Fatalf("the run reports %d boards: %+v", len(run.Boards), run.Boards)
	}
	got := run.Boards[0]
	if got.State != "done" || got.Device != hex.EncodeToString(mac) || got.Ticket == "" {
		t.Errorf("the station's board: %+v", got)
	}
	if r, n := b2.LastBoot(); !r.OK || r.App.Version != "2.1.0" {
		t.Errorf("the station's board, boot %d: %+v", n, r)
	}
	if n := auditCount(t, "production.ticket", pkg.ID); n != 1 {
		t.Errorf("%d tickets in the audit log, want 1", n)
	}
}
