package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"trustforge/crypto/espimg"
	"trustforge/devices/sim"
	"trustforge/e2e/driver"
)

// TestProvisionESP32FromProfile: an engineer makes an ESP32 profile on the
// Identity page (a Secure Boot v2 key's digest, Secure Boot on, flash
// encryption with a key uploaded from the browser, JTAG off and download
// mode kept from encrypted flash), then on the Devices page walks a
// simulated ESP32-C3 through it, each eFuse step shown with what changes
// and that it cannot be undone, and burned only once confirmed. After
// each step the board is in the device registry under its MAC with the
// eFuse state just read; the Identity page's registry finds it by MAC and
// shows that state, which is the board's own.
func TestProvisionESP32FromProfile(t *testing.T) {
	product := env.accounts.newProduct(t)
	ctx, _ := newTab(t)
	mac := net.HardwareAddr{0x58, 0xcf, 0x79, 0, 0, 0}
	rand.Read(mac[3:])
	id := hex.EncodeToString(mac)
	b := sim.NewESPBoard(sim.ESPConfig{RunAtStart: true, MAC: mac})
	if _, err := driver.InstallSerialShim(ctx, driver.ChooseFirst, driver.ShimPort{
		ID: "esp32c3-prov", VendorID: 0x303a, ProductID: 0x1001, Granted: true, Device: b,
	}); err != nil {
		t.Fatal(err)
	}
	key, err := espimg.GenerateKey(rand.Reader, espimg.RSA3072)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, _ := espimg.MarshalPublicKey(key.Public())
	digest, err := espimg.KeyDigest(key.Public())
	if err != nil {
		t.Fatal(err)
	}

	// The profile, on the Identity page.
	espProfile(t, ctx, product, pubPEM, digest, "uploaded", "profile-esp-jtag", "profile-esp-download")

	// The board, on the Devices page, step by step.
	goTo(t, ctx, "devices")
	detect(t, ctx)
	eventually(t, ctx, "the ESP32 panel to offer the profile", func() bool {
		return countSelector(t, ctx, fmt.Sprintf(`#esp-profile option[value=%q]`, product)) == 1
	})
	choose(t, ctx, "esp-profile", product)
	waitText(t, ctx, "esp-profile-summary", "flash encryption on, key uploaded from this browser")
	for _, step := range []struct{ what, change string }{
		{"burn a SECURE_BOOT_DIGEST0 key into BLOCK_KEY0", "BLOCK_KEY0 = " + hex.EncodeToString(digest[:])},
		{"enable Secure Boot v2", "SECURE_BOOT_EN = 1"},
		{"burn a XTS_AES_128_KEY key into BLOCK_KEY1", "RD_DIS: BLOCK_KEY1 read-protected"},
		{"enable flash encryption", "SPI_BOOT_CRYPT_CNT = 001"},
		{"set the read and write protections", "DIS_PAD_JTAG = 1"},
	} {
		click(t, ctx, "esp-next-step")
		waitText(t, ctx, "esp-plan-what", step.what)
		hasText(t, ctx, "esp-plan-changes", step.change)
		hasText(t, ctx, "esp-plan", "cannot be undone")
		waitFor(t, ctx, "#esp-burn:disabled")
		click(t, ctx, "esp-confirm")
		waitFor(t, ctx, "#esp-burn:enabled")
		click(t, ctx, "esp-burn")
		waitText(t, ctx, "esp-message", "Burned: "+step.what+". Recorded in the device registry as "+id)
		if msg := textOfAny(t, ctx, "esp-error"); msg != "" {
			t.Fatalf("after %q: %s", step.what, msg)
		}
	}
	click(t, ctx, "esp-next-step")
	waitText(t, ctx, "esp-message", "This board matches the profile of "+product)
	hasText(t, ctx, "esp-secure-boot", "on")
	hasText(t, ctx, "esp-flash-encryption", "on")

	// What the board's eFuses say now, read behind the console's back.
	st := b.SecurityState()
	if !st.SecureBoot || !st.FlashEncryption || !st.JTAGDisabled || !st.ManualEncryptDisabled ||
		st.KeyBlocks[0].Digest != hex.EncodeToString(digest[:]) || !st.KeyBlocks[1].ReadProtected {
		t.Fatalf("the board's eFuses after provisioning: %+v", st)
	}

	// The registry, found by MAC.
	goTo(t, ctx, "identity")
	clearAndType(t, ctx, "registry-query", mac.String())
	click(t, ctx, "registry-search")
	row := fmt.Sprintf(`tr[data-device=%q]`, id)
	waitFor(t, ctx, row+` [data-testid="device-efuses"][data-secure-boot="on"][data-flash-encryption="on"]`)
	rowText := textOfAny(t, ctx, "device-"+id)
	for _, want := range []string{"MAC " + mac.String(), "ESP32-C3", "SPI_BOOT_CRYPT_CNT 001", "key uploaded",
		"JTAG off", "SECURE_BOOT_DIGEST0 " + hex.EncodeToString(digest[:8]), "XTS_AES_128_KEY (read-protected)", product} {
		if !strings.Contains(rowText, want) {
			t.Errorf("registry row lacks %q:\n%s", want, rowText)
		}
	}
	if n := countSelector(t, ctx, `tr[data-testid="device-row"]`); n != 1 {
		t.Errorf("searching by MAC listed %d boards, want 1", n)
	}
}

// countSelector counts the elements the CSS selector matches.
func countSelector(tb testing.TB, ctx context.Context, sel string) int {
	tb.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	if err != nil {
		tb.Fatalf("counting %s: %v", sel, err)
	}
	return n
}

// espProfile signs the engineer in, makes a vault and the product's CA,
// and saves the product's ESP32 profile: the Secure Boot key pubPEM (whose
// digest the page must show), Secure Boot on, the flash encryption key
// source, and the protection boxes ticked.
func espProfile(t *testing.T, ctx context.Context, product string, pubPEM []byte, digest [32]byte, source string, protections ...string) {
	t.Helper()
	signIn(t, ctx, engineerName, engineerPass)
	createVault(t, ctx, identityVaultPass)
	goTo(t, ctx, "identity")
	typeInto(t, ctx, "ca-org", "Acme Lamps")
	click(t, ctx, "ca-create-root")
	waitFor(t, ctx, "#ca-root")
	typeInto(t, ctx, "ca-product", product)
	click(t, ctx, "ca-add-intermediate")
	waitFor(t, ctx, "#ca-intermediate-"+product)
	choose(t, ctx, "profile-product", product)
	choose(t, ctx, "profile-board", "esp32")
	waitFor(t, ctx, "#profile-esp32")
	hasText(t, ctx, "profile-esp-warning", "cannot be undone")
	setFile(t, ctx, "profile-esp-sb-key", writeFile(t, product+"-sb.pem", pubPEM))
	waitText(t, ctx, "profile-esp-digest", hex.EncodeToString(digest[:]))
	click(t, ctx, "profile-esp-secure-boot")
	choose(t, ctx, "profile-esp-fe", source)
	for _, id := range protections {
		click(t, ctx, id)
	}
	click(t, ctx, "profile-save")
	waitText(t, ctx, "profile-message", "Saved the profile of "+product)
	waitFor(t, ctx, "#identity-esp32-hint")
}

// TestProvisionESP32KeyOnDevice: with the profile's flash encryption key
// "generated on the device", the console burns the Secure Boot digest,
// Secure Boot and JTAG off, and no key; the board's bootloader (built with
// flash encryption enabled) draws the key at its first boot after the
// signed set is flashed, and encrypts the flash. Detected again, the board
// matches the profile and the registry records flash encryption on with
// the key generated on the device.
func TestProvisionESP32KeyOnDevice(t *testing.T) {
	product := env.accounts.newProduct(t)
	ctx, _ := newTab(t)
	mac := net.HardwareAddr{0x58, 0xcf, 0x79, 0, 0, 0}
	rand.Read(mac[3:])
	id := hex.EncodeToString(mac)
	b := sim.NewESPBoard(sim.ESPConfig{RunAtStart: true, MAC: mac, EncryptOnFirstBoot: true})
	if _, err := driver.InstallSerialShim(ctx, driver.ChooseFirst, driver.ShimPort{
		ID: "esp32c3-dev", VendorID: 0x303a, ProductID: 0x1001, Granted: true, Device: b,
	}); err != nil {
		t.Fatal(err)
	}
	key, err := espimg.GenerateKey(rand.Reader, espimg.RSA3072)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, _ := espimg.MarshalPublicKey(key.Public())
	digest, _ := espimg.KeyDigest(key.Public())
	espProfile(t, ctx, product, pubPEM, digest, "device", "profile-esp-jtag")

	goTo(t, ctx, "devices")
	detect(t, ctx)
	eventually(t, ctx, "the ESP32 panel to offer the profile", func() bool {
		return countSelector(t, ctx, fmt.Sprintf(`#esp-profile option[value=%q]`, product)) == 1
	})
	choose(t, ctx, "esp-profile", product)
	waitText(t, ctx, "esp-profile-summary", "flash encryption on, key generated on the device")
	for _, what := range []string{"burn a SECURE_BOOT_DIGEST0 key into BLOCK_KEY0", "enable Secure Boot v2", "set the read and write protections"} {
		click(t, ctx, "esp-next-step")
		waitText(t, ctx, "esp-plan-what", what)
		click(t, ctx, "esp-confirm")
		waitFor(t, ctx, "#esp-burn:enabled")
		click(t, ctx, "esp-burn")
		waitText(t, ctx, "esp-message", "Burned: "+what+". Recorded in the device registry as "+id)
	}
	click(t, ctx, "esp-next-step")
	waitText(t, ctx, "esp-message", "This board matches the profile of "+product)
	hasText(t, ctx, "esp-flash-encryption", "off")

	// The signed set, flashed in plaintext; the last write restarts the
	// board, whose bootloader then encrypts it.
	bl, _ := espimg.Build(espimg.BuildOptions{Chip: espimg.ESP32C3, MinRev: 3, Entry: 0x403C0000}, espimg.Segment{Addr: 0x403C0000, Data: make([]byte, 4000)})
	pt, _ := espimg.BuildPartitionTable([]espimg.Partition{{Type: 0, SubType: 0, Offset: 0x10000, Size: 0x100000, Label: "factory"}})
	code := make([]byte, 20000)
	rand.Read(code)
	app, _ := espimg.Build(espimg.BuildOptions{Chip: espimg.ESP32C3, MinRev: 3, Entry: 0x42000020},
		espimg.Segment{Addr: 0x3C000020, Data: espimg.MarshalAppDesc(espimg.AppDesc{Version: "1.4.0", ProjectName: "lamp"})},
		espimg.Segment{Addr: 0x42000020, Data: code})
	sign := func(img []byte) []byte {
		s, err := espimg.Sign(rand.Reader, img, key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, part := range []struct {
		name, offset string
		data         []byte
	}{{"bootloader.bin", "0x0", sign(bl)}, {"partition-table.bin", "0x8000", pt}, {"lamp.bin", "0x10000", sign(app)}} {
		detect(t, ctx)
		setFile(t, ctx, "esp-file", writeFile(t, part.name, part.data))
		waitFor(t, ctx, "#esp-file-info")
		clearAndType(t, ctx, "esp-offset", part.offset)
		click(t, ctx, "esp-flash")
		waitText(t, ctx, "esp-message", "verified with the chip's MD5")
	}
	if r, n := b.LastBoot(); !r.OK || !r.FlashEncryption || !r.SecureBoot || r.App.Version != "1.4.0" {
		t.Fatalf("boot %d after flashing: %+v", n, r)
	}

	detect(t, ctx)
	waitText(t, ctx, "esp-flash-encryption", "on")
	eventually(t, ctx, "the ESP32 panel to offer the profile", func() bool {
		return countSelector(t, ctx, fmt.Sprintf(`#esp-profile option[value=%q]`, product)) == 1
	})
	choose(t, ctx, "esp-profile", product)
	click(t, ctx, "esp-next-step")
	waitText(t, ctx, "esp-message", "This board matches the profile of "+product+". Recorded in the device registry as "+id)

	goTo(t, ctx, "identity")
	clearAndType(t, ctx, "registry-query", mac.String())
	click(t, ctx, "registry-search")
	waitFor(t, ctx, fmt.Sprintf(`tr[data-device=%q] [data-testid="device-efuses"][data-secure-boot="on"][data-flash-encryption="on"]`, id))
	rowText := textOfAny(t, ctx, "device-"+id)
	for _, want := range []string{"MAC " + mac.String(), "key generated on the device", "SPI_BOOT_CRYPT_CNT 001",
		"XTS_AES_128_KEY (read-protected)", "JTAG off"} {
		if !strings.Contains(rowText, want) {
			t.Errorf("registry row lacks %q:\n%s", want, rowText)
		}
	}
}
