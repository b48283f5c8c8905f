package cli_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"trustforge/crypto/espimg"
	"trustforge/devices/sim"
)

func espApp(t *testing.T, version string) []byte {
	t.Helper()
	code := make([]byte, 20000)
	rand.Read(code)
	app, err := espimg.Build(espimg.BuildOptions{Chip: espimg.ESP32C3, MinRev: 3, Entry: 0x42000020},
		espimg.Segment{Addr: 0x3C000020, Data: espimg.MarshalAppDesc(espimg.AppDesc{Version: version, ProjectName: "cli-test"})},
		espimg.Segment{Addr: 0x42000020, Data: code})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

func writeFile(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestESPFileTools(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rsa := filepath.Join(dir, "rsa.pem")
	ec := filepath.Join(dir, "ec.pem")
	imgRunOK(t, "esp", "keygen", "--version", "2", "--scheme", "rsa3072", rsa)
	imgRunOK(t, "esp", "keygen", "--scheme", "ecdsa256", ec)
	if code, _, errOut := imgRun(t, "esp", "keygen", "--scheme", "ecdsa256", ec); code == 0 || !strings.Contains(errOut, "never overwritten") {
		t.Errorf("keygen over an existing key: exit %d, %s", code, errOut)
	}
	if pem := string(imgReadFile(t, rsa)); !strings.HasPrefix(pem, "-----BEGIN RSA PRIVATE KEY-----") {
		t.Errorf("RSA key is not PKCS#1 as espsecure writes it: %.40s", pem)
	}
	in := writeFile(t, filepath.Join(dir, "app.bin"), espApp(t, "1.0"))
	out := filepath.Join(dir, "app-signed.bin")
	imgRunOK(t, "esp", "sign", "--version", "2", "--keyfile", rsa, "--keyfile", ec, "-o", out, in)
	for _, k := range []string{rsa, ec} {
		if got := imgRunOK(t, "esp", "verify", "--keyfile", k, out); !strings.Contains(got, "valid") {
			t.Errorf("verify: %s", got)
		}
	}
	other := filepath.Join(dir, "other.pem")
	imgRunOK(t, "esp", "keygen", "--scheme", "ecdsa256", other)
	if code, _, errOut := imgRun(t, "esp", "verify", "--keyfile", other, out); code != 1 || !strings.Contains(errOut, "untrusted") {
		t.Errorf("verify with another key: exit %d, %s", code, errOut)
	}
	pub := filepath.Join(dir, "pub.pem")
	imgRunOK(t, "esp", "pubkey", "--keyfile", rsa, pub)
	dg := filepath.Join(dir, "digest.bin")
	imgRunOK(t, "esp", "digest", "--keyfile", pub, "-o", dg)
	k, _ := espimg.ParsePublicKey(imgReadFile(t, pub))
	want, _ := espimg.KeyDigest(k)
	if !bytes.Equal(imgReadFile(t, dg), want[:]) {
		t.Error("digest file differs from the key's digest")
	}
	if got := strings.TrimSpace(imgRunOK(t, "esp", "digest", "--keyfile", rsa)); got != hex.EncodeToString(want[:]) {
		t.Errorf("digest of the private key %s, want %x", got, want)
	}
	info := imgRunOK(t, "esp", "image-info", out)
	for _, s := range []string{"ESP32-C3", "cli-test 1.0", "signature 0   rsa3072", "signature 1   ecdsa256"} {
		if !strings.Contains(info, s) {
			t.Errorf("image-info lacks %q:\n%s", s, info)
		}
	}

	key := writeFile(t, filepath.Join(dir, "fe.bin"), bytes.Repeat([]byte{0x5a}, 32))
	enc := filepath.Join(dir, "enc.bin")
	dec := filepath.Join(dir, "dec.bin")
	imgRunOK(t, "esp", "encrypt", "--aes_xts", "--keyfile", key, "--address", "0x10000", "-o", enc, out)
	imgRunOK(t, "esp", "decrypt", "--keyfile", key, "--address", "0x10000", "-o", dec, enc)
	if !bytes.Equal(imgReadFile(t, dec), imgReadFile(t, out)) || bytes.Equal(imgReadFile(t, enc), imgReadFile(t, out)) {
		t.Error("encrypt/decrypt round trip")
	}
	wantCT, _ := espimg.EncryptFlash(bytes.Repeat([]byte{0x5a}, 32), 0x10000, imgReadFile(t, out))
	if !bytes.Equal(imgReadFile(t, enc), wantCT) {
		t.Error("esp encrypt differs from espimg.EncryptFlash")
	}
	if code, _, errOut := imgRun(t, "esp", "encrypt", "--keyfile", key, "--address", "0x10008", "-o", enc, out); code != 1 || !strings.Contains(errOut, "multiple of 16") {
		t.Errorf("unaligned address: exit %d %s", code, errOut)
	}
}

// TestESPDeviceOnBoardsim drives a simulated ESP32-C3 on a pty: info,
// flash, a burn refused without --yes, Secure Boot on, then a signed app
// boots and an unsigned one does not.
func TestESPDeviceOnBoardsim(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := sim.NewESPBoard(sim.ESPConfig{Baud: 921600, SyncEntersDownload: true})
	p, err := sim.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.Serve(ctx, p)
	port := p.Path()

	info := imgRunOK(t, "esp", "info", "--port", port)
	for _, s := range []string{"ESP32-C3 revision v0.4", "58:cf:79:00:00:01", "4 MB", "secure boot      off"} {
		if !strings.Contains(info, s) {
			t.Errorf("info lacks %q:\n%s", s, info)
		}
	}
	key := filepath.Join(dir, "sb.pem")
	imgRunOK(t, "esp", "keygen", "--scheme", "rsa3072", key)
	bl, _ := espimg.Build(espimg.BuildOptions{Chip: espimg.ESP32C3, MinRev: 3}, espimg.Segment{Addr: 0x403C0000, Data: make([]byte, 2000)})
	pt, _ := espimg.BuildPartitionTable([]espimg.Partition{{Type: 0, SubType: 0, Offset: 0x10000, Size: 0x100000, Label: "factory"}})
	blPath := writeFile(t, filepath.Join(dir, "bootloader.bin"), bl)
	ptPath := writeFile(t, filepath.Join(dir, "partitions.bin"), pt)
	appPath := writeFile(t, filepath.Join(dir, "app.bin"), espApp(t, "1.0"))
	for _, f := range []string{"bootloader", "app"} {
		src := map[string]string{"bootloader": blPath, "app": appPath}[f]
		imgRunOK(t, "esp", "sign", "--keyfile", key, "-o", filepath.Join(dir, f+"-signed.bin"), src)
	}
	out := imgRunOK(t, "esp", "flash", "--port", port, "0x0", filepath.Join(dir, "bootloader-signed.bin"),
		"0x8000", ptPath, "0x10000", filepath.Join(dir, "app-signed.bin"))
	if !strings.Contains(out, "verified with MD5") {
		t.Errorf("flash: %s", out)
	}
	espWait(t, func() bool { _, n := b.LastBoot(); return n >= 1 })
	if r, _ := b.LastBoot(); !r.OK || r.App.ProjectName != "cli-test" {
		t.Fatalf("boot after flash: %+v", r)
	}

	if code, out, errOut := imgRun(t, "esp", "burn-key", "--port", port, "--purpose", "secure_boot_digest", key); code != 1 ||
		!strings.Contains(out, "KEY_PURPOSE_0 = SECURE_BOOT_DIGEST0") || !strings.Contains(errOut, "--yes") {
		t.Fatalf("burn-key without --yes: exit %d\n%s\n%s", code, out, errOut)
	}
	imgRunOK(t, "esp", "burn-key", "--port", port, "--purpose", "secure_boot_digest", key, "--yes")
	imgRunOK(t, "esp", "enable-secure-boot", "--port", port, "--yes")
	ef := imgRunOK(t, "esp", "read-efuse", "--port", port)
	if !strings.Contains(ef, "SECURE_BOOT_EN           true") || !strings.Contains(ef, "SECURE_BOOT_DIGEST0") {
		t.Errorf("read-efuse:\n%s", ef)
	}
	// An unsigned app (another build: the signature sector of the signed
	// one is still in flash after it, and still matches the old bytes).
	unsigned := writeFile(t, filepath.Join(dir, "app2.bin"), espApp(t, "2.0"))
	imgRunOK(t, "esp", "flash", "--port", port, "0x10000", unsigned)
	espWait(t, func() bool { _, n := b.LastBoot(); return n >= 2 })
	if r, _ := b.LastBoot(); r.OK || !strings.Contains(r.Reason, "secure boot") {
		t.Fatalf("unsigned app with secure boot on: %+v", r)
	}
	imgRunOK(t, "esp", "flash", "--port", port, "0x10000", filepath.Join(dir, "app-signed.bin"))
	espWait(t, func() bool { _, n := b.LastBoot(); return n >= 3 })
	if r, _ := b.LastBoot(); !r.OK {
		t.Fatalf("signed app with secure boot on: %+v", r)
	}
	if code, _, errOut := imgRun(t, "esp", "info"); code != 2 || !strings.Contains(errOut, "--port") {
		t.Errorf("info without --port: exit %d %s", code, errOut)
	}
}

func espWait(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 3000; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("timed out waiting for the board")
}

// TestESPReleaseFlashSet imports flash_args into a signed, encrypted
// flash-set release, turns flash encryption on in a simulated ESP32-C3 and
// flashes the release, encrypting the marked parts with the board's key.
func TestESPReleaseFlashSet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bl, _ := espimg.Build(espimg.BuildOptions{Chip: espimg.ESP32C3, MinRev: 3}, espimg.Segment{Addr: 0x403C0000, Data: make([]byte, 2000)})
	pt, _ := espimg.BuildPartitionTable([]espimg.Partition{{Type: 0, SubType: 0, Offset: 0x10000, Size: 0x100000, Label: "factory", Flags: espimg.PartFlagEncrypted}})
	os.MkdirAll(filepath.Join(dir, "bootloader"), 0o755)
	writeFile(t, filepath.Join(dir, "bootloader", "bootloader.bin"), bl)
	writeFile(t, filepath.Join(dir, "partition-table.bin"), pt)
	writeFile(t, filepath.Join(dir, "blink.bin"), espApp(t, "4.5.6"))
	args := writeFile(t, filepath.Join(dir, "flash_args"), []byte("--flash_mode dio --flash_size 4MB\n0x0 bootloader/bootloader.bin\n0x8000 partition-table.bin\n0x10000 blink.bin\n"))
	signKey := filepath.Join(dir, "release.pem")
	pub := filepath.Join(dir, "release-pub.pem")
	imgRunOK(t, "keygen", "-t", "ed25519", "-k", signKey, "-e", pub)
	id, _ := age.GenerateX25519Identity()
	idPath := writeFile(t, filepath.Join(dir, "id.txt"), []byte(id.String()+"\n"))
	tfb := filepath.Join(dir, "blink.tfb")
	out := imgRunOK(t, "esp", "release", "-k", signKey, "-r", id.Recipient().String(), "--product", "blink-c3", "--channel", "stable",
		"--flash-args", args, "--encrypt", "all", "-o", tfb)
	if !strings.Contains(out, "blink-c3 4.5.6") || !strings.Contains(out, "app") || !strings.Contains(out, "(flash encryption)") {
		t.Errorf("esp release:\n%s", out)
	}

	b := sim.NewESPBoard(sim.ESPConfig{SyncEntersDownload: true})
	p, err := sim.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.Serve(ctx, p)
	port := p.Path()
	feKey := writeFile(t, filepath.Join(dir, "fe.bin"), bytes.Repeat([]byte{0x3c}, 32))
	imgRunOK(t, "esp", "burn-key", "--port", port, "--purpose", "xts_aes_128_key", feKey, "--yes")
	imgRunOK(t, "esp", "enable-flash-encryption", "--port", port, "--yes")
	if code, _, errOut := imgRun(t, "esp", "flash", "--port", port, "--release", tfb, "-t", pub, "-i", idPath); code != 1 || !strings.Contains(errOut, "--fe-key") {
		t.Fatalf("flash of encrypted parts without a key: exit %d %s", code, errOut)
	}
	imgRunOK(t, "esp", "flash", "--port", port, "--release", tfb, "-t", pub, "-i", idPath, "--fe-key", feKey)
	espWait(t, func() bool { _, n := b.LastBoot(); return n >= 1 })
	if r, _ := b.LastBoot(); !r.OK || !r.FlashEncryption || r.App.Version != "4.5.6" {
		t.Fatalf("boot of the encrypted release: %+v", r)
	}
	other, _ := age.GenerateX25519Identity()
	otherPath := writeFile(t, filepath.Join(dir, "other.txt"), []byte(other.String()+"\n"))
	if code, _, errOut := imgRun(t, "esp", "flash", "--port", port, "--release", tfb, "-t", pub, "-i", otherPath, "--fe-key", feKey); code != 1 || !strings.Contains(errOut, "no identity") {
		t.Errorf("release opened with another identity: exit %d %s", code, errOut)
	}
}
