package sim

import (
	"crypto/rand"
	"errors"
	"testing"

	"trustforge/crypto/espimg"
	"trustforge/devices/esprom"
)

// A simulated ESP32-S3 is told from an ESP32-C3 by its magic register (its
// ROM's GET_SECURITY_INFO names no chip); its eFuses are read and burned
// at the S3's controller address with the S3's own DIS_USB_JTAG bit, and
// Secure Boot then refuses what the S3's key did not sign.
func TestESPS3EfusesAndSecureBoot(t *testing.T) {
	t.Parallel()
	ctx := espCtx(t)
	b := NewESPBoard(ESPConfig{Chip: espimg.ESP32S3, RunAtStart: true})
	c, _ := espConnect(t, b)
	ci, err := c.Connect(ctx, esprom.ResetClassic)
	if err != nil {
		t.Fatal(err)
	}
	if ci.Chip != espimg.ESP32S3 || ci.Revision != 4 || ci.MAC.String() != "58:cf:79:00:00:01" || ci.FlashSize != 4<<20 {
		t.Fatalf("detected %v %v MAC %v flash %d", ci.Chip, ci.Revision, ci.MAC, ci.FlashSize)
	}
	if ci.Security == nil || ci.Security.ChipID != 0 {
		t.Fatalf("security info %+v: the S3's ROM names no chip", ci.Security)
	}
	ef, err := c.ReadEfuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ef.Chip != espimg.ESP32S3 || ef.MAC().String() != "58:cf:79:00:00:01" || !ef.KeyFree(0) {
		t.Fatalf("eFuses of %v, MAC %v", ef.Chip, ef.MAC())
	}

	key, err := espimg.GenerateKey(rand.Reader, espimg.RSA3072)
	if err != nil {
		t.Fatal(err)
	}
	digest, _ := espimg.KeyDigest(key.Public())
	prov := esprom.Provisioning{SecureBootDigest: digest[:], SecureBoot: true, Protections: esprom.Protections{JTAG: true}}
	for {
		burn, err := esprom.NextBurn(ef, prov, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if burn == nil {
			break
		}
		if burn.What == "set the read and write protections" {
			// DIS_USB_JTAG is bit 118 of block 0 on the S3, bit 41 on the C3.
			if burn.Block0[3]&(1<<22) == 0 || burn.Block0[1]&(1<<9) != 0 {
				t.Errorf("protections burn block 0 %08x: want the S3's DIS_USB_JTAG (bit 118), not the C3's (bit 41)", burn.Block0)
			}
		}
		if err := c.BurnEfuses(ctx, burn); err != nil {
			t.Fatalf("%s: %v", burn.What, err)
		}
		if ef, err = c.ReadEfuses(ctx); err != nil {
			t.Fatal(err)
		}
	}
	st := ef.State(ci.Chip.String())
	if !st.SecureBoot || !st.JTAGDisabled || st.Chip != "ESP32-S3" || st.KeyBlocks[0].Purpose != "SECURE_BOOT_DIGEST0" {
		t.Fatalf("state after provisioning: %+v", st)
	}
	if got := b.SecurityState(); !equalState(got, st) {
		t.Errorf("the board's own eFuses %+v\ndiffer from what the client read %+v", got, st)
	}

	// A C3 image is refused before anything is written; a set signed by
	// the burned key boots, an unsigned app does not.
	writes := b.FlashWrites()
	if _, err := c.Flash(ctx, ci, espFlashSet(t, espimg.ESP32C3, 2000, "1"), esprom.FlashOptions{}); !errors.Is(err, esprom.ErrWrongChip) {
		t.Errorf("a C3 set on an S3: %v, want ErrWrongChip", err)
	}
	if b.FlashWrites() != writes {
		t.Error("flash written before the wrong-chip set was refused")
	}
	if _, err := c.Flash(ctx, ci, espFlashSet(t, espimg.ESP32S3, 8000, "2.0.0", key), esprom.FlashOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.FlashEnd(ctx, true); err != nil {
		t.Fatal(err)
	}
	waitBoot(t, b, 2)
	if r, _ := b.LastBoot(); !r.OK || !r.SecureBoot || r.App.Version != "2.0.0" {
		t.Fatalf("signed S3 app with Secure Boot on: %+v", r)
	}
}

func equalState(a, b esprom.SecurityState) bool {
	if len(a.KeyBlocks) != len(b.KeyBlocks) {
		return false
	}
	for i := range a.KeyBlocks {
		if a.KeyBlocks[i] != b.KeyBlocks[i] {
			return false
		}
	}
	a.KeyBlocks, b.KeyBlocks = nil, nil
	return a.Chip == b.Chip && a.SecureBoot == b.SecureBoot && a.JTAGDisabled == b.JTAGDisabled &&
		a.FlashCryptCnt == b.FlashCryptCnt && a.ReadProtectionLocked == b.ReadProtectionLocked
}

// A bootloader built with flash encryption enabled generates the key on
// the device at its first boot, encrypts the flash in place and turns
// flash encryption on; the board boots the encrypted set from then on and
// its key cannot be read.
func TestESPEncryptOnFirstBoot(t *testing.T) {
	t.Parallel()
	ctx := espCtx(t)
	b := NewESPBoard(ESPConfig{RunAtStart: true, EncryptOnFirstBoot: true})
	c, _ := espConnect(t, b)
	ci, err := c.Connect(ctx, esprom.ResetClassic)
	if err != nil {
		t.Fatal(err)
	}
	parts := espFlashSet(t, espimg.ESP32C3, 20000, "3.0.0")
	if _, err := c.Flash(ctx, ci, parts, esprom.FlashOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.FlashEnd(ctx, true); err != nil {
		t.Fatal(err)
	}
	waitBoot(t, b, 2)
	r, _ := b.LastBoot()
	if !r.OK || !r.FlashEncryption || r.App.Version != "3.0.0" {
		t.Fatalf("first boot: %+v", r)
	}
	if got := b.FlashContents(0x10000, 64); string(got) == string(parts[2].Data[:64]) {
		t.Error("the app is still in flash as plaintext")
	}
	st := b.SecurityState()
	if st.FlashCryptCnt != 1 || !st.FlashEncryption || st.KeyBlocks[0].Purpose != "XTS_AES_128_KEY" ||
		!st.KeyBlocks[0].ReadProtected || !st.KeyBlocks[0].WriteProtected {
		t.Fatalf("eFuses after the first boot: %+v", st)
	}
	// The next boots find flash encryption on and change nothing.
	b.PowerCycle(false)
	if r, _ := b.LastBoot(); !r.OK || b.SecurityState().FlashCryptCnt != 1 {
		t.Errorf("second boot: %+v, count %03b", r, b.SecurityState().FlashCryptCnt)
	}
}
