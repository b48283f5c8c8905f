package esprom

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"sync"

	"trustforge/crypto/espimg"
	"trustforge/internal/usererr"
)

// ChipMagicReg holds a value that tells the chip families apart, on every
// ESP32-family ROM.
const ChipMagicReg = 0x40001000

// ESP32-C3 register addresses (Technical Reference Manual).
const (
	C3EfuseBase  = 0x60008800
	c3SPIBase    = 0x60002000 // SPI1: the flash
	spiCmdOff    = 0x00
	spiUsrOff    = 0x18
	spiUsr1Off   = 0x1C
	spiUsr2Off   = 0x20
	spiMosiDlen  = 0x24
	spiMisoDlen  = 0x28
	spiW0Off     = 0x58
	spiCmdUsr    = 1 << 18
	spiUsrCmdBit = 1 << 31
	spiUsrMiso   = 1 << 28
)

// S3EfuseBase is the ESP32-S3's eFuse controller (Technical Reference
// Manual, "System and Memory": DR_REG_EFUSE_BASE); its registers lie at
// the same offsets as the ESP32-C3's.
const S3EfuseBase = 0x60007000

// magicChips is built on first use, not when the console starts.
var magicChips = sync.OnceValue(func() map[uint32]espimg.Chip {
	return map[uint32]espimg.Chip{
		0x00F01D83: espimg.ESP32,
		0x000007C6: espimg.ESP32S2,
		0x6921506F: espimg.ESP32C3, 0x1B31506F: espimg.ESP32C3, 0x4881606F: espimg.ESP32C3, 0x4361606F: espimg.ESP32C3,
		0x00000009: espimg.ESP32S3,
	}
})

// SecurityInfo is GET_SECURITY_INFO's answer (ROMs after the ESP32).
type SecurityInfo struct {
	Flags         uint32
	FlashCryptCnt byte
	KeyPurposes   [7]byte
	ChipID        uint32 // the image chip id; 0 when the ROM does not say
	ECOVersion    uint32
}

// Bits of SecurityInfo.Flags.
const (
	SecFlagSecureBootEn      = 1 << 0
	SecFlagAggressiveRevoke  = 1 << 1
	SecFlagSecureDownloadEn  = 1 << 2
	SecFlagSecureBootRevoke0 = 1 << 3
	SecFlagSecureBootRevoke1 = 1 << 4
	SecFlagSecureBootRevoke2 = 1 << 5
	SecFlagSoftDisJTAG       = 1 << 6
	SecFlagHardDisJTAG       = 1 << 7
	SecFlagDisUSB            = 1 << 8
	SecFlagDisDownloadDCache = 1 << 9
	SecFlagDisDownloadICache = 1 << 10
)

// ParseSecurityInfo decodes GET_SECURITY_INFO's payload: 12 bytes on the
// ESP32-S2, 20 on later chips (with chip id and ECO version).
func ParseSecurityInfo(b []byte) (SecurityInfo, error) {
	var s SecurityInfo
	if len(b) != 12 && len(b) != 20 {
		return s, usererr.Errorf("", "%w: security info of %d bytes", ErrProtocol, len(b))
	}
	s.Flags = binary.LittleEndian.Uint32(b)
	s.FlashCryptCnt = b[4]
	copy(s.KeyPurposes[:], b[5:12])
	if len(b) == 20 {
		s.ChipID = binary.LittleEndian.Uint32(b[12:])
		s.ECOVersion = binary.LittleEndian.Uint32(b[16:])
	}
	return s, nil
}

// Marshal encodes the 20-byte form.
func (s SecurityInfo) Marshal() []byte {
	b := make([]byte, 20)
	binary.LittleEndian.PutUint32(b, s.Flags)
	b[4] = s.FlashCryptCnt
	copy(b[5:12], s.KeyPurposes[:])
	binary.LittleEndian.PutUint32(b[12:], s.ChipID)
	binary.LittleEndian.PutUint32(b[16:], s.ECOVersion)
	return b
}

// ChipInfo is what Detect learns about the chip.
type ChipInfo struct {
	Chip     espimg.Chip
	Revision espimg.Revision // major*100+minor; 0 when unknown
	MAC      net.HardwareAddr
	// FlashSize is the attached flash's size in bytes (0: unknown), and
	// FlashID its JEDEC id (manufacturer, type, capacity).
	FlashSize int
	FlashID   uint32
	// Security is GET_SECURITY_INFO's answer, nil on ROMs without it.
	Security       *SecurityInfo
	SecureDownload bool // Secure Download Mode: READ_REG, MD5 and more refused
	SecureBoot     bool
	FlashEncrypted bool // SPI_BOOT_CRYPT_CNT has an odd number of bits set
}

// SecurityInfo asks the ROM for its security state.
func (c *Client) SecurityInfo(ctx context.Context) (SecurityInfo, error) {
	_, b, err := c.Command(ctx, OpGetSecurityInfo, nil, 0, 0)
	if err != nil {
		return SecurityInfo{}, err
	}
	return ParseSecurityInfo(b)
}

// Detect identifies the synced chip: family from GET_SECURITY_INFO's chip
// id or else the magic register, then revision, MAC, flash id and size
// (attaching the SPI flash first). In Secure Download Mode only what
// GET_SECURITY_INFO says is known.
func (c *Client) Detect(ctx context.Context) (*ChipInfo, error) {
	ci := &ChipInfo{}
	si, err := c.SecurityInfo(ctx)
	switch {
	case err == nil:
		ci.Security = &si
		ci.SecureDownload = si.Flags&SecFlagSecureDownloadEn != 0
		ci.SecureBoot = si.Flags&SecFlagSecureBootEn != 0
		ci.FlashEncrypted = popcount(si.FlashCryptCnt)%2 == 1
		if si.ChipID != 0 {
			ci.Chip = espimg.Chip(si.ChipID)
			ci.Revision = espimg.Revision(si.ECOVersion) // refined from the eFuses below when readable
		}
	case errors.Is(err, ErrTimeout) || ctx.Err() != nil:
		return nil, err
	}
	c.chip = ci
	if si.ChipID == 0 {
		magic, err := c.ReadReg(ctx, ChipMagicReg)
		if err != nil {
			return nil, usererr.Errorf("esprom", "reading the chip magic register: %w", err)
		}
		chip, ok := magicChips()[magic]
		if !ok {
			return nil, usererr.Errorf("", "%w: unknown chip magic %#08x", ErrUnsupportedChip, magic)
		}
		ci.Chip = chip
	}
	if ci.Chip == espimg.ESP32 {
		c.statusLn = 4
	}
	if ci.SecureDownload {
		c.logf("%v in Secure Download Mode", ci.Chip)
		return ci, nil
	}
	if l := layouts[ci.Chip]; l != nil {
		if err := c.details(ctx, l, ci); err != nil {
			return nil, err
		}
	}
	c.logf("detected %v %v, MAC %v, flash %d bytes", ci.Chip, ci.Revision, ci.MAC, ci.FlashSize)
	return ci, nil
}

// details reads the revision and MAC of an ESP32-C3 or -S3 from eFuse
// block 1 (the two keep them at the same bits) and its flash id.
func (c *Client) details(ctx context.Context, l *efuseLayout, ci *ChipInfo) error {
	var w [6]uint32
	for i := range w {
		v, err := c.ReadReg(ctx, l.base+EfuseRdBlock1+4*uint32(i))
		if err != nil {
			return usererr.Errorf("esprom", "reading eFuse block 1: %w", err)
		}
		w[i] = v
	}
	ci.MAC = macFromBlock1(w[0], w[1])
	major := (w[5] >> 24) & 3
	minor := ((w[5]>>23)&1)<<3 | (w[3]>>18)&7
	ci.Revision = espimg.Revision(major*100 + minor)
	if err := c.AttachFlash(ctx); err != nil {
		return err
	}
	id, err := c.FlashID(ctx)
	if err != nil {
		return err
	}
	ci.FlashID = id
	if capb := (id >> 16) & 0xFF; capb >= 0x10 && capb <= 0x1F {
		ci.FlashSize = 1 << capb
	}
	return nil
}

// macFromBlock1 reads the factory MAC from the first two words of eFuse
// block 1: byte 0 of the MAC is bits 40-47, byte 5 bits 0-7.
func macFromBlock1(w0, w1 uint32) net.HardwareAddr {
	return net.HardwareAddr{byte(w1 >> 8), byte(w1), byte(w0 >> 24), byte(w0 >> 16), byte(w0 >> 8), byte(w0)}
}

func popcount(b byte) int {
	n := 0
	for ; b != 0; b &= b - 1 {
		n++
	}
	return n
}

// AttachFlash sends SPI_ATTACH (the default SPI pins) and SPI_SET_PARAMS
// for a 16 MB flash, the largest, so that no write is refused before the
// real size is known.
func (c *Client) AttachFlash(ctx context.Context) error {
	if _, _, err := c.Command(ctx, OpSPIAttach, words(0, 0), 0, 0); err != nil {
		return err
	}
	return c.SetFlashParams(ctx, 16<<20)
}

// SetFlashParams sends SPI_SET_PARAMS with the flash's total size.
func (c *Client) SetFlashParams(ctx context.Context, size int) error {
	_, _, err := c.Command(ctx, OpSPISetParams, words(0, uint32(size), 64<<10, 4<<10, 256, 0xFFFF), 0, 0)
	return err
}

// FlashID runs the JEDEC "read identification" command (0x9F) on the SPI
// flash through the SPI controller's user-command registers and returns
// the 24-bit id: manufacturer in the low byte, then type, then capacity.
func (c *Client) FlashID(ctx context.Context) (uint32, error) {
	base := uint32(c3SPIBase)
	steps := []struct{ addr, val uint32 }{
		{base + spiUsrOff, spiUsrCmdBit | spiUsrMiso},
		{base + spiUsr1Off, 0},
		{base + spiUsr2Off, 7<<28 | 0x9F}, // 8-bit command 0x9F
		{base + spiMosiDlen, 0},
		{base + spiMisoDlen, 24 - 1},
		{base + spiW0Off, 0},
		{base + spiCmdOff, spiCmdUsr},
	}
	for _, s := range steps {
		if err := c.WriteReg(ctx, s.addr, s.val, 0xFFFFFFFF, 0); err != nil {
			return 0, usererr.Errorf("esprom", "reading the flash id: %w", err)
		}
	}
	for range 10 {
		v, err := c.ReadReg(ctx, base+spiCmdOff)
		if err != nil {
			return 0, err
		}
		if v&spiCmdUsr == 0 {
			id, err := c.ReadReg(ctx, base+spiW0Off)
			return id & 0xFFFFFF, err
		}
	}
	return 0, usererr.Errorf("", "%w: the SPI flash did not finish the id command", ErrProtocol)
}
