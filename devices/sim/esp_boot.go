package sim

import (
	"crypto/sha256"
	"fmt"

	"trustforge/crypto/espimg"
)

// bootLocked boots from flash as the ROM and the second stage bootloader
// do, and leaves the chip running the app or halted.
func (e *ESPBoard) bootLocked() {
	if e.cfg.EncryptOnFirstBoot {
		if what, err := e.encryptOnFirstBootLocked(); err != nil {
			e.logf("%v", err)
		} else if what != "" {
			e.logf("%s", what)
		}
	}
	r := e.evaluateBootLocked()
	e.lastBoot = r
	e.boots++
	head := "ESP-ROM:" + e.romName() + "\r\nrst:0x1 (POWERON),boot:0xc (SPI_FAST_FLASH_BOOT)\r\n"
	if r.OK {
		e.mode = espRunning
		e.printLocked(fmt.Sprintf("%sI (45) boot: Loaded app from partition at offset %#x\r\nI (60) app_init: Project name:     %s\r\nI (60) app_init: App version:      %s\r\n",
			head, r.Offset, r.App.ProjectName, r.App.Version))
		e.logf("booted app at %#x (%s %s)", r.Offset, r.App.ProjectName, r.App.Version)
		return
	}
	e.mode = espHalted
	e.printLocked(head + "E (40) boot: " + r.Reason + "\r\n")
	e.logf("boot refused: %s", r.Reason)
}

// evaluateBootLocked runs the boot checks without changing the mode.
func (e *ESPBoard) evaluateBootLocked() ESPBoot {
	r := ESPBoot{SecureBoot: e.efuse.secureBoot(), FlashEncryption: e.efuse.flashEncryption()}
	key := e.efuse.xtsKey()
	if r.FlashEncryption && key == nil {
		r.Reason = "flash encryption is on but no XTS_AES_128_KEY is burned"
		return r
	}
	read := func(off, n uint32) ([]byte, error) {
		if uint64(off)+uint64(n) > uint64(len(e.flash)) {
			return nil, fmt.Errorf("%#x+%#x is past the end of the flash", off, n)
		}
		b := append([]byte(nil), e.flash[off:off+n]...)
		if r.FlashEncryption {
			return espimg.DecryptFlash(key, off, b)
		}
		return b, nil
	}
	digests := e.efuse.digests()
	if r.SecureBoot && len(digests) == 0 {
		r.Reason = "secure boot is on but no key digest is burned"
		return r
	}
	check := func(what string, b []byte) (*espimg.Image, string) {
		img, err := espimg.Parse(b)
		if err != nil {
			return nil, fmt.Sprintf("%s: %v", what, err)
		}
		if err := img.Header.CheckChip(e.cfg.Chip, e.cfg.Revision); err != nil {
			return nil, fmt.Sprintf("%s: %v", what, err)
		}
		if r.SecureBoot {
			if img.Signature == nil {
				return nil, fmt.Sprintf("%s: secure boot check fail: %v", what, espimg.ErrUnsigned)
			}
			_, err := espimg.Verify(b[:img.SignedLen+espimg.SectorSize], espimg.VerifyOptions{Digests: digests, Schemes: e.cfg.Chip.SignatureSchemes()})
			if err != nil {
				return nil, fmt.Sprintf("%s: secure boot check fail: %v", what, err)
			}
		}
		return img, ""
	}
	bl, err := read(0, espimg.PartitionTableOffset)
	if err != nil {
		r.Reason = err.Error()
		return r
	}
	if _, why := check("bootloader at 0x0", bl); why != "" {
		r.Reason = why
		return r
	}
	pt, err := read(espimg.PartitionTableOffset, espimg.PartitionTableSize)
	if err != nil {
		r.Reason = err.Error()
		return r
	}
	parts, err := espimg.ParsePartitionTable(pt)
	if err != nil {
		r.Reason = "partition table: " + err.Error()
		return r
	}
	for _, p := range parts {
		if !p.IsApp() {
			continue
		}
		b, err := read(p.Offset, p.Size)
		if err != nil {
			r.Reason = fmt.Sprintf("app partition %q: %v", p.Label, err)
			return r
		}
		img, why := check(fmt.Sprintf("app partition %q at %#x", p.Label, p.Offset), b)
		if why != "" {
			r.Reason = why
			continue // the bootloader tries the next app partition
		}
		r.OK, r.Reason, r.Offset = true, "", p.Offset
		r.App, _ = img.AppDescription()
		r.AppSHA256 = sha256.Sum256(b[:img.Len])
		return r
	}
	if r.Reason == "" {
		r.Reason = "no app partition"
	}
	return r
}
