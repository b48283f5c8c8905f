package sim

import (
	"encoding/binary"
	"net"

	"trustforge/crypto/espimg"
	"trustforge/devices/esprom"
)

// espEfuse models the ESP32-C3 (or ESP32-S3) eFuse controller: eleven blocks of fuses
// that only ever go from 0 to 1, the program registers, and the read
// registers with read protection applied.
type espEfuse struct {
	chip  espimg.Chip
	base  uint32        // the controller's address
	blk   [11][8]uint32 // block 0: WR_DIS then RD_REPEAT_DATA0..4; block 1: 6 words
	pgm   [8]uint32
	check [3]uint32
	conf  uint32
	rsErr [2]uint32
}

func (f *espEfuse) init(chip espimg.Chip, mac net.HardwareAddr, rev espimg.Revision) {
	f.chip, f.base = chip, esprom.C3EfuseBase
	if chip == espimg.ESP32S3 {
		f.base = esprom.S3EfuseBase
	}
	f.blk[1][0] = uint32(mac[2])<<24 | uint32(mac[3])<<16 | uint32(mac[4])<<8 | uint32(mac[5])
	f.blk[1][1] = uint32(mac[0])<<8 | uint32(mac[1])
	major, minor := uint32(rev/100), uint32(rev%100)
	f.blk[1][3] |= (minor & 7) << 18
	f.blk[1][5] |= (minor>>3&1)<<23 | (major&3)<<24
}

func (f *espEfuse) bit(n int) bool { return f.blk[0][n/32]>>(n%32)&1 == 1 }

func (f *espEfuse) field(n, w int) uint32 { return f.blk[0][n/32] >> (n % 32) & (1<<w - 1) }

func (f *espEfuse) keyPurpose(k int) int { return int(f.field(64+24+4*k, 4)) }

// flashEncryption reports an odd SPI_BOOT_CRYPT_CNT.
func (f *espEfuse) flashEncryption() bool {
	c := f.field(64+18, 3)
	return (c&1+c>>1&1+c>>2&1)%2 == 1
}

func (f *espEfuse) secureBoot() bool     { return f.bit(96 + 20) }
func (f *espEfuse) secureDownload() bool { return f.bit(128 + 5) }
func (f *espEfuse) manualEncryptOff() bool {
	return f.bit(32 + 20)
}

func (f *espEfuse) keyBytes(k int) []byte {
	b := make([]byte, 32)
	for i, w := range f.blk[4+k] {
		binary.LittleEndian.PutUint32(b[4*i:], w)
	}
	return b
}

// xtsKey returns the flash encryption key, as the hardware sees it (read
// protection does not hide keys from the crypto engine).
func (f *espEfuse) xtsKey() []byte {
	for k := 0; k < 6; k++ {
		if f.keyPurpose(k) == int(esprom.PurposeXTSAES128) {
			return f.keyBytes(k)
		}
	}
	return nil
}

// digests returns the unrevoked Secure Boot key digests.
func (f *espEfuse) digests() [][32]byte {
	var out [][32]byte
	for k := 0; k < 6; k++ {
		p := f.keyPurpose(k)
		if p < 9 || p > 11 || f.bit(64+21+(p-9)) {
			continue
		}
		var d [32]byte
		copy(d[:], f.keyBytes(k))
		out = append(out, d)
	}
	return out
}

// securityInfo is what GET_SECURITY_INFO reports.
func (f *espEfuse) securityInfo(rev espimg.Revision) esprom.SecurityInfo {
	s := esprom.SecurityInfo{ChipID: uint32(f.chip), ECOVersion: uint32(rev % 100), FlashCryptCnt: byte(f.field(64+18, 3))}
	if f.secureBoot() {
		s.Flags |= esprom.SecFlagSecureBootEn
	}
	if f.bit(96 + 21) {
		s.Flags |= esprom.SecFlagAggressiveRevoke
	}
	if f.secureDownload() {
		s.Flags |= esprom.SecFlagSecureDownloadEn
	}
	for i := 0; i < 3; i++ {
		if f.bit(64 + 21 + i) {
			s.Flags |= esprom.SecFlagSecureBootRevoke0 << i
		}
	}
	for k := 0; k < 6; k++ {
		s.KeyPurposes[k] = byte(f.keyPurpose(k))
	}
	return s
}

// read returns a register of the controller, or false for an address
// outside it.
func (f *espEfuse) read(addr uint32) (uint32, bool) {
	if addr < f.base || addr >= f.base+0x200 {
		return 0, false
	}
	off := addr - f.base
	switch {
	case off < 0x20:
		return f.pgm[off/4], true
	case off < 0x2C:
		return f.check[(off-0x20)/4], true
	case off < 0x44:
		return f.blk[0][(off-0x2C)/4], true
	case off < 0x5C:
		return f.blk[1][(off-0x44)/4], true
	case off < 0x17C:
		n := 2 + int(off-0x5C)/0x20
		if n >= 4 && f.bit(32+(n-4)) { // RD_DIS: KEY0..5, then block 10
			return 0, true
		}
		return f.blk[n][(off-0x5C)%0x20/4], true
	case off == esprom.EfuseRdRSErr0:
		return f.rsErr[0], true
	case off == esprom.EfuseRdRSErr1:
		return f.rsErr[1], true
	case off == esprom.EfuseConf:
		return f.conf, true
	}
	return 0, true // status, command (done at once), reserved
}

// write sets a register; a program command burns the program registers
// into a block.
func (f *espEfuse) write(addr, v uint32) bool {
	if addr < f.base || addr >= f.base+0x200 {
		return false
	}
	off := addr - f.base
	switch {
	case off < 0x20:
		f.pgm[off/4] = v
	case off < 0x2C:
		f.check[(off-0x20)/4] = v
	case off == esprom.EfuseConf:
		f.conf = v & 0xFFFF
	case off == esprom.EfuseCmd:
		if v&esprom.EfuseCmdPgm != 0 && f.conf == esprom.EfuseConfWrite {
			f.program(int(v >> 2 & 0xF))
		}
	}
	return true
}

// wrDisOf maps block-0 field bits to the WR_DIS bit that protects them,
// for the fields trustforge programs.
func (f *espEfuse) protected(bit int) bool {
	switch {
	case bit >= 32 && bit < 39: // RD_DIS
		return f.bit(0)
	case bit >= 82 && bit < 85: // SPI_BOOT_CRYPT_CNT
		return f.bit(4)
	case bit >= 88 && bit < 112: // KEY_PURPOSE_0..5
		return f.bit(8 + (bit-88)/4)
	case bit == 116:
		return f.bit(15)
	}
	return false
}

func (f *espEfuse) program(blk int) {
	switch {
	case blk == 0:
		// Protection is what the fuses said before this program command:
		// a field and its WR_DIS bit may be burned together.
		before := *f
		for w := 0; w < 6; w++ {
			for b := 0; b < 32; b++ {
				if f.pgm[w]>>b&1 == 1 && !before.protected(w*32+b) {
					f.blk[0][w] |= 1 << b
				}
			}
		}
	case blk >= 2 && blk <= 10:
		if blk >= 4 && blk <= 9 && f.bit(23+blk-4) || blk == 10 && f.bit(29) ||
			blk == 2 && f.bit(21) || blk == 3 && f.bit(22) {
			return // write-protected
		}
		data := make([]byte, 32)
		for i := range 8 {
			binary.LittleEndian.PutUint32(data[4*i:], f.pgm[i])
			f.blk[blk][i] |= f.pgm[i]
		}
		rs := esprom.RSCheck(data)
		ok := binary.LittleEndian.Uint32(rs[0:]) == f.check[0] && binary.LittleEndian.Uint32(rs[4:]) == f.check[1] &&
			binary.LittleEndian.Uint32(rs[8:]) == f.check[2]
		if !ok && blk >= 4 && blk <= 8 {
			f.rsErr[0] |= 0xF << (12 + 4*(blk-4))
		} else if !ok && blk == 9 {
			f.rsErr[1] |= 0xF
		}
	}
	f.pgm, f.check = [8]uint32{}, [3]uint32{}
}

// SecurityState returns the chip's eFuse security state as its eFuse
// controller's read registers show it, read directly rather than through
// the ROM loader: what a test compares with what a client recorded.
func (e *ESPBoard) SecurityState() esprom.SecurityState {
	e.mu.Lock()
	defer e.mu.Unlock()
	ef := esprom.Efuses{Chip: e.cfg.Chip}
	for n := range ef.Blocks {
		addr, nw := esprom.EfuseBlockAddrOf(e.cfg.Chip, n)
		ef.Blocks[n] = make([]uint32, nw)
		for i := range nw {
			ef.Blocks[n][i], _ = e.efuse.read(addr + 4*uint32(i))
		}
	}
	return ef.State(e.cfg.Chip.String())
}
