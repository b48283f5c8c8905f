package esprom

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"time"

	"trustforge/crypto/espimg"
	"trustforge/internal/usererr"
)

// ESP32-C3 eFuse controller registers (TRM, eFuse Controller), relative to
// C3EfuseBase.
const (
	EfusePgmData0  = 0x000 // 8 words of data to program
	EfusePgmCheck0 = 0x020 // 3 words of Reed-Solomon check bytes
	EfuseRdWrDis   = 0x02C // block 0 starts here when read back
	EfuseRdRepeat0 = 0x030
	EfuseRdBlock1  = 0x044
	EfuseRdBlock2  = 0x05C
	EfuseRdBlock3  = 0x07C
	EfuseRdKey0    = 0x09C // key blocks 4..9, then block 10, 0x20 apart
	EfuseRdRepErr0 = 0x17C
	EfuseRdRSErr0  = 0x1C0
	EfuseRdRSErr1  = 0x1C4
	EfuseConf      = 0x1CC
	EfuseStatus    = 0x1D0
	EfuseCmd       = 0x1D4

	EfuseConfWrite = 0x5A5A
	EfuseConfRead  = 0x5AA5
	EfuseCmdRead   = 1 << 0
	EfuseCmdPgm    = 1 << 1
)

// EfuseBlockAddr returns the read address and word count of eFuse block n
// (0 to 10) of an ESP32-C3.
func EfuseBlockAddr(n int) (uint32, int) { return c3Layout.blockAddr(n) }

// EfuseBlockAddrOf returns the read address and word count of eFuse block
// n (0 to 10) of chip; 0, 0 for a chip whose eFuse map this package does
// not have (only the ESP32-C3 and ESP32-S3).
func EfuseBlockAddrOf(chip espimg.Chip, n int) (uint32, int) {
	if l := layouts[chip]; l != nil {
		return l.blockAddr(n)
	}
	return 0, 0
}

// efuseLayout is where a chip keeps its eFuse controller, and the block 0
// bits that differ between the chips this package knows. The ESP32-C3 and
// ESP32-S3 share the controller's register offsets and most of block 0
// (ESP-IDF's eFuse tables, the two Technical Reference Manuals).
type efuseLayout struct {
	chip          espimg.Chip
	base          uint32
	bitDisUSBJTAG int // DIS_USB_JTAG
}

var (
	c3Layout = &efuseLayout{chip: espimg.ESP32C3, base: C3EfuseBase, bitDisUSBJTAG: 32 + 9}
	s3Layout = &efuseLayout{chip: espimg.ESP32S3, base: S3EfuseBase, bitDisUSBJTAG: 96 + 22}
	layouts  = map[espimg.Chip]*efuseLayout{espimg.ESP32C3: c3Layout, espimg.ESP32S3: s3Layout}
)

func (l *efuseLayout) blockAddr(n int) (uint32, int) {
	switch {
	case n == 0:
		return l.base + EfuseRdWrDis, 6
	case n == 1:
		return l.base + EfuseRdBlock1, 6
	case n == 2:
		return l.base + EfuseRdBlock2, 8
	case n == 3:
		return l.base + EfuseRdBlock3, 8
	case n >= 4 && n <= 10:
		return l.base + EfuseRdKey0 + uint32(n-4)*0x20, 8
	}
	return 0, 0
}

// layout returns the eFuse layout of the detected chip (the ESP32-C3's
// before detection), or ErrUnsupportedChip.
func (c *Client) layout(what string) (*efuseLayout, error) {
	if c.chip == nil {
		return c3Layout, nil
	}
	if l := layouts[c.chip.Chip]; l != nil {
		return l, nil
	}
	return nil, usererr.Errorf("", "%w: %s on %v (this package has the eFuse maps of the ESP32-C3 and ESP32-S3)", ErrUnsupportedChip, what, c.chip.Chip)
}

// KeyPurpose is the use of an eFuse key block.
type KeyPurpose byte

// Key purposes of the ESP32-C3.
const (
	PurposeUser             KeyPurpose = 0
	PurposeReserved         KeyPurpose = 1
	PurposeXTSAES256Key1    KeyPurpose = 2 // ESP32-S3: first half of an XTS-AES-256 key
	PurposeXTSAES256Key2    KeyPurpose = 3 // ESP32-S3: second half
	PurposeXTSAES128        KeyPurpose = 4
	PurposeHMACDownAll      KeyPurpose = 5
	PurposeHMACDownJTAG     KeyPurpose = 6
	PurposeHMACDownDS       KeyPurpose = 7
	PurposeHMACUp           KeyPurpose = 8
	PurposeSecureBootDigest KeyPurpose = 9 // + slot 0..2
)

// String names a purpose as espefuse does.
func (p KeyPurpose) String() string {
	switch {
	case p == PurposeUser:
		return "USER"
	case p == PurposeReserved:
		return "RESERVED"
	case p == PurposeXTSAES256Key1:
		return "XTS_AES_256_KEY_1"
	case p == PurposeXTSAES256Key2:
		return "XTS_AES_256_KEY_2"
	case p == PurposeXTSAES128:
		return "XTS_AES_128_KEY"
	case p == PurposeHMACDownAll:
		return "HMAC_DOWN_ALL"
	case p == PurposeHMACDownJTAG:
		return "HMAC_DOWN_JTAG"
	case p == PurposeHMACDownDS:
		return "HMAC_DOWN_DIGITAL_SIGNATURE"
	case p == PurposeHMACUp:
		return "HMAC_UP"
	case p >= 9 && p <= 11:
		return fmt.Sprintf("SECURE_BOOT_DIGEST%d", p-9)
	}
	return fmt.Sprintf("purpose %d", byte(p))
}

// Block 0 bit positions (bit n of the block's 192 bits: word n/32).
const (
	bitWrDisRdDis        = 0
	bitWrDisCryptCnt     = 4
	bitWrDisKeyPurpose0  = 8  // + key
	bitWrDisSecureBootEn = 15 // SECURE_BOOT_EN
	bitWrDisKey0         = 23 // + key: the key block itself
	bitRdDisKey0         = 32 // + key
	bitDisManualEncrypt  = 32 + 20
	bitCryptCnt          = 64 + 18 // 3 bits
	bitKeyRevoke0        = 64 + 21
	bitKeyPurpose0       = 64 + 24 // 4 bits each, keys 0..5
	bitSecureBootEn      = 96 + 20
	bitAggressiveRevoke  = 96 + 21
	bitDisDownloadMode   = 128 + 0
	bitSecureDownload    = 128 + 5
)

// Efuses is a snapshot of an ESP32-C3's or ESP32-S3's eFuse blocks as
// the controller shows them (read-protected key blocks read as zeros).
type Efuses struct {
	Blocks [11][]uint32
	// Chip is the chip they were read from; zero (espimg.ESP32, whose
	// map this package does not have) is taken as the ESP32-C3.
	Chip espimg.Chip
}

func (e *Efuses) layout() *efuseLayout {
	if l := layouts[e.Chip]; l != nil {
		return l
	}
	return c3Layout
}

// ReadEfuses reads all eleven blocks through READ_REG.
func (c *Client) ReadEfuses(ctx context.Context) (*Efuses, error) {
	l, err := c.layout("reading eFuses")
	if err != nil {
		return nil, err
	}
	e := &Efuses{Chip: l.chip}
	for n := range e.Blocks {
		addr, nw := l.blockAddr(n)
		e.Blocks[n] = make([]uint32, nw)
		for i := range nw {
			v, err := c.ReadReg(ctx, addr+4*uint32(i))
			if err != nil {
				return nil, usererr.Errorf("esprom", "reading eFuse block %d: %w", n, err)
			}
			e.Blocks[n][i] = v
		}
	}
	return e, nil
}

func (e *Efuses) bit(n int) bool { return e.Blocks[0][n/32]>>(n%32)&1 == 1 }

func (e *Efuses) field(n, width int) uint32 {
	return e.Blocks[0][n/32] >> (n % 32) & (1<<width - 1)
}

// MAC returns the factory MAC address.
func (e *Efuses) MAC() net.HardwareAddr { return macFromBlock1(e.Blocks[1][0], e.Blocks[1][1]) }

// KeyPurpose returns the purpose of key block k (0..5, eFuse block 4+k).
func (e *Efuses) KeyPurpose(k int) KeyPurpose { return KeyPurpose(e.field(bitKeyPurpose0+4*k, 4)) }

// KeyWriteProtected reports whether key block k can no longer change.
func (e *Efuses) KeyWriteProtected(k int) bool { return e.bit(bitWrDisKey0 + k) }

// KeyReadProtected reports whether key block k reads as zeros.
func (e *Efuses) KeyReadProtected(k int) bool { return e.bit(bitRdDisKey0 + k) }

// Key returns key block k's 32 bytes (zeros when read-protected).
func (e *Efuses) Key(k int) []byte { return wordsLE(e.Blocks[4+k]) }

// KeyFree reports whether key block k is unused: purpose USER, all zero,
// neither write- nor read-protected.
func (e *Efuses) KeyFree(k int) bool {
	if e.KeyPurpose(k) != PurposeUser || e.KeyWriteProtected(k) || e.KeyReadProtected(k) || e.bit(bitWrDisKeyPurpose0+k) {
		return false
	}
	for _, w := range e.Blocks[4+k] {
		if w != 0 {
			return false
		}
	}
	return true
}

// SecureBootEnabled reports SECURE_BOOT_EN.
func (e *Efuses) SecureBootEnabled() bool { return e.bit(bitSecureBootEn) }

// SecureBootDigests returns the trusted, unrevoked key digests by slot.
func (e *Efuses) SecureBootDigests() map[int][32]byte {
	out := map[int][32]byte{}
	for k := 0; k < 6; k++ {
		p := e.KeyPurpose(k)
		if p < 9 || p > 11 {
			continue
		}
		slot := int(p - 9)
		if e.bit(bitKeyRevoke0 + slot) {
			continue
		}
		var d [32]byte
		copy(d[:], e.Key(k))
		out[slot] = d
	}
	return out
}

// CryptCount returns SPI_BOOT_CRYPT_CNT; flash encryption is on when it
// has an odd number of bits set.
func (e *Efuses) CryptCount() int { return int(e.field(bitCryptCnt, 3)) }

// FlashEncryptionEnabled reports an odd SPI_BOOT_CRYPT_CNT.
func (e *Efuses) FlashEncryptionEnabled() bool { return popcount(byte(e.CryptCount()))%2 == 1 }

// SecureDownload reports ENABLE_SECURITY_DOWNLOAD.
func (e *Efuses) SecureDownload() bool { return e.bit(bitSecureDownload) }

// Summary describes the security-relevant eFuses, one per line.
func (e *Efuses) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "MAC                      %v\n", e.MAC())
	fmt.Fprintf(&b, "SECURE_BOOT_EN           %v\n", e.SecureBootEnabled())
	fmt.Fprintf(&b, "SPI_BOOT_CRYPT_CNT       %03b (flash encryption %v)\n", e.CryptCount(), onOff(e.FlashEncryptionEnabled()))
	fmt.Fprintf(&b, "ENABLE_SECURITY_DOWNLOAD %v\n", e.SecureDownload())
	fmt.Fprintf(&b, "DIS_DOWNLOAD_MODE        %v\n", e.bit(bitDisDownloadMode))
	for k := 0; k < 6; k++ {
		state := "free"
		if !e.KeyFree(k) {
			state = fmt.Sprintf("%x", e.Key(k))
			if e.KeyReadProtected(k) {
				state = "(read-protected)"
			}
		}
		fmt.Fprintf(&b, "BLOCK_KEY%d  %-27s wp=%-5v rp=%-5v %s\n", k, e.KeyPurpose(k), e.KeyWriteProtected(k), e.KeyReadProtected(k), state)
	}
	return b.String()
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func wordsLE(w []uint32) []byte {
	b := make([]byte, 4*len(w))
	for i, x := range w {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return b
}

// Burn is one eFuse programming step: bits of block 0 to set and,
// optionally, a key block's contents. Bits only ever go from 0 to 1, and
// no step can be undone.
type Burn struct {
	// What says what the step does, and Changes lists each eFuse it sets.
	What    string
	Changes []string
	// Block0 holds the bits of block 0 to set (6 words: WR_DIS, then the
	// five RD_REPEAT_DATA words).
	Block0 [6]uint32
	// KeyBlock (4..9, 0 for none) and Key are a key block to program.
	KeyBlock int
	Key      []byte
}

func (b *Burn) set(n int) { b.Block0[n/32] |= 1 << (n % 32) }

func (b *Burn) setField(n, width int, v uint32) { b.Block0[n/32] |= (v & (1<<width - 1)) << (n % 32) }

// PlanKey prepares burning key (32 bytes) into the first free key block
// with purpose p: the block, its purpose, and write protection of both;
// read protection too when readProtect (flash encryption keys: yes;
// Secure Boot digests: never, the bootloader must read them).
func PlanKey(e *Efuses, p KeyPurpose, key []byte, readProtect bool) (*Burn, error) {
	if len(key) != 32 {
		return nil, usererr.Errorf("", "%w: a key block holds 32 bytes, not %d", ErrEfuse, len(key))
	}
	if p >= 9 && p <= 11 && readProtect {
		return nil, usererr.Errorf("", "%w: a Secure Boot digest must stay readable", ErrEfuse)
	}
	for k := 0; k < 6; k++ {
		if p >= 9 && p <= 11 && e.KeyPurpose(k) == p {
			return nil, usererr.Errorf("", "%w: BLOCK_KEY%d already holds %v", ErrEfuse, k, p)
		}
	}
	for k := 0; k < 6; k++ {
		if !e.KeyFree(k) {
			continue
		}
		b := &Burn{What: fmt.Sprintf("burn a %v key into BLOCK_KEY%d", p, k), KeyBlock: 4 + k, Key: append([]byte(nil), key...)}
		b.setField(bitKeyPurpose0+4*k, 4, uint32(p))
		b.set(bitWrDisKeyPurpose0 + k)
		b.set(bitWrDisKey0 + k)
		b.Changes = []string{
			fmt.Sprintf("BLOCK_KEY%d = %x", k, key),
			fmt.Sprintf("KEY_PURPOSE_%d = %v", k, p),
			fmt.Sprintf("WR_DIS: BLOCK_KEY%d and KEY_PURPOSE_%d write-protected", k, k),
		}
		if readProtect {
			b.set(bitRdDisKey0 + k)
			b.Changes[0] = fmt.Sprintf("BLOCK_KEY%d = (secret key, %d bytes)", k, len(key))
			b.Changes = append(b.Changes, fmt.Sprintf("RD_DIS: BLOCK_KEY%d read-protected (only the hardware can use it)", k))
		}
		return b, nil
	}
	return nil, usererr.Errorf("", "%w: no free key block (BLOCK_KEY0..5 are all used)", ErrEfuse)
}

// PlanSecureBoot prepares SECURE_BOOT_EN and its write protection. It
// refuses when no Secure Boot digest is burned: the chip would never boot.
func PlanSecureBoot(e *Efuses) (*Burn, error) {
	if len(e.SecureBootDigests()) == 0 {
		return nil, usererr.Errorf("", "%w: burn a Secure Boot key digest first; with none the chip would never boot again", ErrEfuse)
	}
	b := &Burn{What: "enable Secure Boot v2"}
	b.set(bitSecureBootEn)
	b.set(bitWrDisSecureBootEn)
	b.Changes = []string{"SECURE_BOOT_EN = 1", "WR_DIS: SECURE_BOOT_EN write-protected"}
	return b, nil
}

// PlanFlashEncryption prepares turning flash encryption on: one more bit
// of SPI_BOOT_CRYPT_CNT (making it odd), write-protected, and
// DIS_DOWNLOAD_MANUAL_ENCRYPT when lockManual. It refuses without an
// XTS_AES_128_KEY key block.
func PlanFlashEncryption(e *Efuses, lockManual bool) (*Burn, error) {
	has := false
	for k := 0; k < 6; k++ {
		if e.KeyPurpose(k) == PurposeXTSAES128 {
			has = true
		}
	}
	if !has {
		return nil, usererr.Errorf("", "%w: burn an XTS_AES_128_KEY first", ErrEfuse)
	}
	if e.FlashEncryptionEnabled() {
		return nil, usererr.Errorf("", "%w: flash encryption is already on", ErrEfuse)
	}
	cnt := e.CryptCount()
	next := cnt | (cnt+1)&^cnt // set the lowest clear bit
	if next > 7 {
		return nil, usererr.Errorf("", "%w: SPI_BOOT_CRYPT_CNT is used up", ErrEfuse)
	}
	b := &Burn{What: "enable flash encryption"}
	b.setField(bitCryptCnt, 3, uint32(next))
	b.set(bitWrDisCryptCnt)
	b.Changes = []string{fmt.Sprintf("SPI_BOOT_CRYPT_CNT = %03b (odd: on)", next), "WR_DIS: SPI_BOOT_CRYPT_CNT write-protected"}
	if lockManual {
		b.set(bitDisManualEncrypt)
		b.Changes = append(b.Changes, "DIS_DOWNLOAD_MANUAL_ENCRYPT = 1")
	}
	return b, nil
}

// PlanSecureDownload prepares ENABLE_SECURITY_DOWNLOAD: afterwards the ROM
// loader only writes flash (no register or flash reads, no MD5).
func PlanSecureDownload() *Burn {
	b := &Burn{What: "enable Secure Download Mode", Changes: []string{"ENABLE_SECURITY_DOWNLOAD = 1"}}
	b.set(bitSecureDownload)
	return b
}

// BurnEfuses programs a Burn through the eFuse controller: the key block
// (with its Reed-Solomon check bytes) first, then block 0, each followed
// by a read command and a check that the bits arrived. It cannot be
// undone.
func (c *Client) BurnEfuses(ctx context.Context, b *Burn) error {
	l, err := c.layout("eFuse programming")
	if err != nil {
		return err
	}
	if b.KeyBlock != 0 {
		if b.KeyBlock < 4 || b.KeyBlock > 9 || len(b.Key) != 32 {
			return usererr.Errorf("", "%w: key block %d with %d bytes", ErrEfuse, b.KeyBlock, len(b.Key))
		}
		data := make([]uint32, 8)
		for i := range data {
			data[i] = binary.LittleEndian.Uint32(b.Key[4*i:])
		}
		rs := RSCheck(b.Key)
		check := []uint32{binary.LittleEndian.Uint32(rs[0:]), binary.LittleEndian.Uint32(rs[4:]), binary.LittleEndian.Uint32(rs[8:])}
		if err := c.programBlock(ctx, l, b.KeyBlock, data, check); err != nil {
			return err
		}
		k := b.KeyBlock - 4
		v, err := c.ReadReg(ctx, l.base+EfuseRdRSErr0)
		if err != nil {
			return err
		}
		shift := 12 + 4*k // key0 is at bits 12..15 of RS_ERR0 ... key4 at 28..31
		if k == 5 {
			v, err = c.ReadReg(ctx, l.base+EfuseRdRSErr1)
			if err != nil {
				return err
			}
			shift = 0
		}
		if v>>(shift+3)&1 == 1 {
			return usererr.Errorf("", "%w: programming BLOCK_KEY%d failed (Reed-Solomon errors)", ErrEfuse, k)
		}
	}
	if b.Block0 != [6]uint32{} {
		if err := c.programBlock(ctx, l, 0, b.Block0[:], nil); err != nil {
			return err
		}
		addr, _ := l.blockAddr(0)
		for i, want := range b.Block0 {
			got, err := c.ReadReg(ctx, addr+4*uint32(i))
			if err != nil {
				return err
			}
			if got&want != want {
				return usererr.Errorf("", "%w: block 0 word %d reads %#08x after programming, bits %#08x missing", ErrEfuse, i, got, want&^got)
			}
		}
	}
	return nil
}

// programBlock runs one program command and one read command.
func (c *Client) programBlock(ctx context.Context, l *efuseLayout, blk int, data, check []uint32) error {
	base := l.base
	for i := 0; i < 8; i++ {
		v := uint32(0)
		if i < len(data) {
			v = data[i]
		}
		if err := c.WriteReg(ctx, base+EfusePgmData0+4*uint32(i), v, 0xFFFFFFFF, 0); err != nil {
			return err
		}
	}
	for i := 0; i < 3; i++ {
		v := uint32(0)
		if i < len(check) {
			v = check[i]
		}
		if err := c.WriteReg(ctx, base+EfusePgmCheck0+4*uint32(i), v, 0xFFFFFFFF, 0); err != nil {
			return err
		}
	}
	if err := c.efuseCmd(ctx, l, EfuseConfWrite, EfuseCmdPgm|uint32(blk)<<2); err != nil {
		return usererr.Errorf("esprom", "programming eFuse block %d: %w", blk, err)
	}
	if err := c.efuseCmd(ctx, l, EfuseConfRead, EfuseCmdRead); err != nil {
		return usererr.Errorf("esprom", "reloading eFuses: %w", err)
	}
	return nil
}

func (c *Client) efuseCmd(ctx context.Context, l *efuseLayout, conf, cmd uint32) error {
	base := l.base
	if err := c.WriteReg(ctx, base+EfuseConf, conf, 0xFFFFFFFF, 0); err != nil {
		return err
	}
	if err := c.WriteReg(ctx, base+EfuseCmd, cmd, 0xFFFFFFFF, 0); err != nil {
		return err
	}
	for range 50 {
		v, err := c.ReadReg(ctx, base+EfuseCmd)
		if err != nil {
			return err
		}
		if v&(EfuseCmdRead|EfuseCmdPgm) == 0 {
			return nil
		}
		if err := c.opts.Sleep(ctx, 2*time.Millisecond); err != nil {
			return err
		}
	}
	return usererr.Errorf("", "%w: the eFuse controller stayed busy", ErrEfuse)
}
