package sim

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"trustforge/crypto/espimg"
	"trustforge/devices/esprom"
)

func espCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestESPDetectFlashBoot(t *testing.T) {
	t.Parallel()
	ctx := espCtx(t)
	b := NewESPBoard(ESPConfig{RunAtStart: true})
	if ok, _ := b.LastBoot(); ok.OK {
		t.Fatal("blank flash booted")
	}
	c, _ := espConnect(t, b)
	ci, err := c.Connect(ctx, esprom.ResetClassic)
	if err != nil {
		t.Fatal(err)
	}
	if ci.Chip != espimg.ESP32C3 || ci.Revision != 4 || ci.MAC.String() != "58:cf:79:00:00:01" || ci.FlashSize != 4<<20 {
		t.Fatalf("detected %v %v MAC %v flash %d", ci.Chip, ci.Revision, ci.MAC, ci.FlashSize)
	}
	for _, uncompressed := range []bool{false, true} {
		parts := espFlashSet(t, espimg.ESP32C3, 40000, "1.0.0")
		res, err := c.Flash(ctx, ci, parts, esprom.FlashOptions{Uncompressed: uncompressed})
		if err != nil {
			t.Fatalf("uncompressed=%v: %v", uncompressed, err)
		}
		if !res.Verified || res.PartsDone != 3 {
			t.Errorf("result %+v", res)
		}
		if !uncompressed && res.Sent >= res.Written {
			t.Errorf("compressed sent %d of %d", res.Sent, res.Written)
		}
		if got := b.FlashContents(0x10000, len(parts[2].Data)); !bytes.Equal(got, parts[2].Data) {
			t.Fatal("app not in flash")
		}
	}
	_, booted := b.LastBoot()
	if err := c.FlashEnd(ctx, true); err != nil {
		t.Fatal(err)
	}
	waitBoot(t, b, booted+1)
	r, _ := b.LastBoot()
	if !r.OK || r.App.ProjectName != "blink" || r.Offset != 0x10000 {
		t.Fatalf("boot %+v", r)
	}
	if !b.Running() {
		t.Error("app not running")
	}
	// The app does not answer the ROM protocol; a reset through the lines
	// brings the ROM loader back.
	if _, err := c.Connect(ctx, esprom.ResetClassic); err != nil {
		t.Fatalf("reconnect: %v", err)
	}
	if !strings.Contains(c.Console(), "waiting for download") {
		t.Error("no ROM banner on the console")
	}
}

// waitBoot waits for the board's n-th boot, which follows an answer. A
// reset mode tried during a connection may boot the flash too, so callers
// count from the boots before the reboot they wait for.
func waitBoot(t *testing.T, b *ESPBoard, n int) {
	t.Helper()
	for i := 0; i < 2000; i++ {
		if _, got := b.LastBoot(); got >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no boot %d", n)
}

func TestESPUSBJTAGReset(t *testing.T) {
	t.Parallel()
	b := NewESPBoard(ESPConfig{USBJTAG: true, RunAtStart: true})
	c, _ := espConnect(t, b)
	if _, err := c.Connect(espCtx(t), esprom.ResetUSBJTAG); err != nil {
		t.Fatal(err)
	}
}

func TestESPNoSync(t *testing.T) {
	t.Parallel()
	b := NewESPBoard(ESPConfig{RunAtStart: true})
	c, _ := espConnect(t, b)
	if _, err := c.Connect(espCtx(t), esprom.ResetNone); !errors.Is(err, esprom.ErrNoSync) {
		t.Fatalf("Connect to a running app: %v, want ErrNoSync", err)
	}
	if !strings.Contains(esprom.ErrNoSync.Error(), "hold BOOT") {
		t.Error("no hint in ErrNoSync")
	}
}

func TestESPRefusedBeforeWriting(t *testing.T) {
	t.Parallel()
	ctx := espCtx(t)
	b := NewESPBoard(ESPConfig{FlashSize: 1 << 20})
	c, _ := espConnect(t, b)
	ci, err := c.Connect(ctx, esprom.ResetNone)
	if err != nil {
		t.Fatal(err)
	}
	before := b.FlashWrites()
	if _, err := c.Flash(ctx, ci, espFlashSet(t, espimg.ESP32S3, 1000, "1"), esprom.FlashOptions{}); !errors.Is(err, esprom.ErrWrongChip) {
		t.Errorf("ESP32-S3 image: %v, want ErrWrongChip", err)
	}
	big := espFlashSet(t, espimg.ESP32C3, 1<<20, "1")
	if _, err := c.Flash(ctx, ci, big, esprom.FlashOptions{}); !errors.Is(err, esprom.ErrTooLarge) {
		t.Errorf("image past the flash: %v, want ErrTooLarge", err)
	}
	newer := espFlashSet(t, espimg.ESP32C3, 1000, "1")
	newer[2].Data = espimg.MustBuildForTest(espimg.ESP32C3, 101)
	if _, err := c.Flash(ctx, ci, newer, esprom.FlashOptions{}); !errors.Is(err, esprom.ErrWrongChip) {
		t.Errorf("image for revision v1.1: %v, want ErrWrongChip", err)
	}
	overlap := espFlashSet(t, espimg.ESP32C3, 1000, "1")
	overlap[1].Offset = 0x10000
	if _, err := c.Flash(ctx, ci, overlap, esprom.FlashOptions{}); !errors.Is(err, esprom.ErrOverlap) {
		t.Errorf("overlapping parts: %v, want ErrOverlap", err)
	}
	if got := b.FlashWrites(); got != before {
		t.Errorf("%d flash writes happened before the refusals", got-before)
	}
}

// TestESPPulledLink pulls the cable in the middle of an app write: the
// board, powered by the cable, restarts from flash and must refuse the
// partial image; a second flash then works.
func TestESPPulledLink(t *testing.T) {
	t.Parallel()
	ctx := espCtx(t)
	b := NewESPBoard(ESPConfig{})
	c, l := espConnect(t, b)
	ci, err := c.Connect(ctx, esprom.ResetNone)
	if err != nil {
		t.Fatal(err)
	}
	parts := espFlashSet(t, espimg.ESP32C3, 100000, "2.0.0")
	// First a complete old version, so the partial one overwrites something.
	old := espFlashSet(t, espimg.ESP32C3, 100000, "1.0.0")
	if _, err := c.Flash(ctx, ci, old, esprom.FlashOptions{}); err != nil {
		t.Fatal(err)
	}
	pulled := false
	_, err = c.Flash(ctx, ci, parts, esprom.FlashOptions{Progress: func(part string, done, total int) {
		if part == "app" && done > total/3 && !pulled {
			pulled = true
			l.conn.Close()
		}
	}})
	if err == nil {
		t.Fatal("flash survived a pulled cable")
	}
	b.PowerCycle(false)
	r, _ := b.LastBoot()
	if r.OK {
		t.Fatalf("booted a partial image: %+v", r)
	}
	t.Logf("partial image refused: %s", r.Reason)

	b.PowerCycle(true) // BOOT held: download mode
	c2, _ := espConnect(t, b)
	ci, err = c2.Connect(ctx, esprom.ResetNone)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Flash(ctx, ci, parts, esprom.FlashOptions{}); err != nil {
		t.Fatal(err)
	}
	_, booted := b.LastBoot()
	if err := c2.FlashEnd(ctx, true); err != nil {
		t.Fatal(err)
	}
	waitBoot(t, b, booted+1)
	if r, _ := b.LastBoot(); !r.OK || r.App.Version != "2.0.0" {
		t.Fatalf("after reflashing: %+v", r)
	}
}

// TestESPSecureBoot burns a Secure Boot v2 key digest and SECURE_BOOT_EN
// through the eFuse controller's registers, then boots signed and refuses
// unsigned and wrongly signed apps.
func TestESPSecureBoot(t *testing.T) {
	t.Parallel()
	ctx := espCtx(t)
	key, other := espKey(t, "esp-rsa3072.pem"), espKey(t, "esp-rsa3072-b.pem")
	b := NewESPBoard(ESPConfig{})
	c, _ := espConnect(t, b)
	ci, err := c.Connect(ctx, esprom.ResetNone)
	if err != nil {
		t.Fatal(err)
	}
	ef, err := c.ReadEfuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := esprom.PlanSecureBoot(ef); !errors.Is(err, esprom.ErrEfuse) {
		t.Errorf("secure boot with no digest: %v", err)
	}
	digest, _ := espimg.KeyDigest(key.Public())
	burn, err := esprom.PlanKey(ef, esprom.PurposeSecureBootDigest, digest[:], false)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.BurnEfuses(ctx, burn); err != nil {
		t.Fatal(err)
	}
	if ef, err = c.ReadEfuses(ctx); err != nil {
		t.Fatal(err)
	}
	if ef.KeyPurpose(0) != esprom.PurposeSecureBootDigest || !bytes.Equal(ef.Key(0), digest[:]) || !ef.KeyWriteProtected(0) {
		t.Fatalf("after burning the digest:\n%s", ef.Summary())
	}
	if _, err := esprom.PlanKey(ef, esprom.PurposeSecureBootDigest, digest[:], false); err == nil {
		t.Error("a second SECURE_BOOT_DIGEST0 was planned")
	}
	sb, err := esprom.PlanSecureBoot(ef)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.BurnEfuses(ctx, sb); err != nil {
		t.Fatal(err)
	}
	if ci, err = c.Detect(ctx); err != nil || !ci.SecureBoot {
		t.Fatalf("GET_SECURITY_INFO after enabling: %+v %v", ci, err)
	}

	for _, tc := range []struct {
		name  string
		parts []esprom.Part
		boots bool
	}{
		{"signed", espFlashSet(t, espimg.ESP32C3, 20000, "1.0.0", key), true},
		{"unsigned", espFlashSet(t, espimg.ESP32C3, 20000, "1.0.1"), false},
		{"wrong key", espFlashSet(t, espimg.ESP32C3, 20000, "1.0.2", other), false},
		{"signed by both", espFlashSet(t, espimg.ESP32C3, 20000, "1.0.3", other, key), true},
	} {
		b.PowerCycle(true)
		if _, err := c.Connect(ctx, esprom.ResetNone); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Flash(ctx, ci, tc.parts, esprom.FlashOptions{}); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		b.PowerCycle(false)
		r, _ := b.LastBoot()
		if r.OK != tc.boots {
			t.Errorf("%s: booted=%v (%s), want %v", tc.name, r.OK, r.Reason, tc.boots)
		}
		if !tc.boots && !strings.Contains(r.Reason, "secure boot") {
			t.Errorf("%s: reason %q", tc.name, r.Reason)
		}
	}
}

// TestESPFlashEncryption burns an XTS-AES key (read-protected) and turns
// flash encryption on; images encrypted on the host at their offsets boot,
// plaintext does not.
func TestESPFlashEncryption(t *testing.T) {
	t.Parallel()
	ctx := espCtx(t)
	b := NewESPBoard(ESPConfig{})
	c, _ := espConnect(t, b)
	ci, err := c.Connect(ctx, esprom.ResetNone)
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	ef, _ := c.ReadEfuses(ctx)
	burn, err := esprom.PlanKey(ef, esprom.PurposeXTSAES128, key, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.BurnEfuses(ctx, burn); err != nil {
		t.Fatal(err)
	}
	ef, _ = c.ReadEfuses(ctx)
	if !ef.KeyReadProtected(0) || !bytes.Equal(ef.Key(0), make([]byte, 32)) {
		t.Fatalf("the flash encryption key is readable:\n%s", ef.Summary())
	}
	fe, err := esprom.PlanFlashEncryption(ef, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.BurnEfuses(ctx, fe); err != nil {
		t.Fatal(err)
	}
	if ef, _ = c.ReadEfuses(ctx); !ef.FlashEncryptionEnabled() {
		t.Fatal("flash encryption not on")
	}

	plain := espFlashSet(t, espimg.ESP32C3, 30000, "3.0.0")
	if _, err := c.Flash(ctx, ci, plain, esprom.FlashOptions{}); err != nil {
		t.Fatal(err)
	}
	b.PowerCycle(false)
	if r, _ := b.LastBoot(); r.OK {
		t.Fatal("plaintext booted with flash encryption on")
	}
	enc := make([]esprom.Part, len(plain))
	for i, p := range plain {
		data := append([]byte(nil), p.Data...)
		for len(data)%16 != 0 {
			data = append(data, 0xFF)
		}
		ct, err := espimg.EncryptFlash(key, p.Offset, data)
		if err != nil {
			t.Fatal(err)
		}
		enc[i] = esprom.Part{Name: p.Name, Offset: p.Offset, Data: ct}
	}
	b.PowerCycle(true)
	if _, err := c.Connect(ctx, esprom.ResetNone); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Flash(ctx, ci, enc, esprom.FlashOptions{AllowChip: true}); err != nil {
		t.Fatal(err)
	}
	b.PowerCycle(false)
	if r, _ := b.LastBoot(); !r.OK || r.App.Version != "3.0.0" || !r.FlashEncryption {
		t.Fatalf("encrypted set: %+v", r)
	}
	// The ROM can also encrypt as it writes, with the burned key.
	b.PowerCycle(true)
	if _, err := c.Connect(ctx, esprom.ResetNone); err != nil {
		t.Fatal(err)
	}
	manual := espFlashSet(t, espimg.ESP32C3, 30000, "3.1.0")
	for i := range manual {
		manual[i].Encrypt = true
	}
	if _, err := c.Flash(ctx, ci, manual, esprom.FlashOptions{Uncompressed: true}); err != nil {
		t.Fatal(err)
	}
	b.PowerCycle(false)
	if r, _ := b.LastBoot(); !r.OK || r.App.Version != "3.1.0" {
		t.Fatalf("encrypted by the ROM: %+v", r)
	}
}

func TestESPSecureDownloadMode(t *testing.T) {
	t.Parallel()
	ctx := espCtx(t)
	b := NewESPBoard(ESPConfig{})
	c, _ := espConnect(t, b)
	if _, err := c.Connect(ctx, esprom.ResetNone); err != nil {
		t.Fatal(err)
	}
	if err := c.BurnEfuses(ctx, esprom.PlanSecureDownload()); err != nil {
		t.Fatal(err)
	}
	b.PowerCycle(true) // the ROM reads the eFuse at reset
	if err := c.Sync(ctx, 0); err != nil {
		t.Fatal(err)
	}
	ci, err := c.Detect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !ci.SecureDownload || ci.Chip != espimg.ESP32C3 {
		t.Fatalf("%+v", ci)
	}
	if _, err := c.ReadReg(ctx, esprom.ChipMagicReg); !errors.Is(err, esprom.ErrSecureDownload) {
		t.Errorf("READ_REG: %v, want ErrSecureDownload", err)
	}
	if _, err := c.FlashMD5(ctx, 0, 16); !errors.Is(err, esprom.ErrSecureDownload) {
		t.Errorf("MD5: %v, want ErrSecureDownload", err)
	}
	res, err := c.Flash(ctx, ci, espFlashSet(t, espimg.ESP32C3, 1000, "1"), esprom.FlashOptions{})
	if err != nil || res.Verified {
		t.Errorf("flash in secure download mode: %+v %v", res, err)
	}
}

func TestESPChangeBaud(t *testing.T) {
	t.Parallel()
	ctx := espCtx(t)
	b := NewESPBoard(ESPConfig{Baud: 115200})
	c, _ := espConnect(t, b)
	if _, err := c.Connect(ctx, esprom.ResetNone); err != nil {
		t.Fatal(err)
	}
	if err := c.ChangeBaud(ctx, 921600); err != nil {
		t.Fatal(err)
	}
	if got := b.Baud(); got != 921600 {
		t.Errorf("board at %d baud", got)
	}
	if _, err := c.ReadReg(ctx, esprom.ChipMagicReg); err != nil {
		t.Errorf("after the change: %v", err)
	}
}
