package sim

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"

	"trustforge/crypto/espimg"
	"trustforge/devices/esprom"
)

// encryptOnFirstBootLocked does what an ESP-IDF bootloader built with
// flash encryption enabled does on a boot with SPI_BOOT_CRYPT_CNT even:
// the images checked in plaintext, it draws an XTS-AES-128 key (unless one
// is burned), burns it read- and write-protected into a free key block,
// encrypts the bootloader, the partition table and every app partition
// and partition flagged encrypted in place, and burns one more bit of
// SPI_BOOT_CRYPT_CNT, write-protected. It reports what it did, or why it
// did nothing.
func (e *ESPBoard) encryptOnFirstBootLocked() (string, error) {
	f := &e.efuse
	if f.flashEncryption() {
		return "", nil
	}
	if r := e.evaluateBootLocked(); !r.OK {
		return "", fmt.Errorf("not encrypting the flash: %s", r.Reason)
	}
	cnt := f.field(64+18, 3)
	next := cnt | (cnt+1)&^cnt
	if next > 7 || f.bit(4) {
		return "", fmt.Errorf("not encrypting the flash: SPI_BOOT_CRYPT_CNT is used up or write-protected")
	}
	key := f.xtsKey()
	if key == nil {
		k := -1
		for i := range 6 {
			if f.keyPurpose(i) == int(esprom.PurposeUser) && !f.bit(23+i) && !f.bit(32+i) && f.blk[4+i] == [8]uint32{} {
				k = i
				break
			}
		}
		if k < 0 {
			return "", fmt.Errorf("not encrypting the flash: no free key block for the flash encryption key")
		}
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return "", err
		}
		for i := range 8 {
			f.blk[4+k][i] = binary.LittleEndian.Uint32(key[4*i:])
		}
		f.set(64+24+4*k, uint32(esprom.PurposeXTSAES128), 4)
		f.set(8+k, 1, 1)  // WR_DIS: KEY_PURPOSE_k
		f.set(23+k, 1, 1) // WR_DIS: BLOCK_KEYk
		f.set(32+k, 1, 1) // RD_DIS: BLOCK_KEYk
	}
	pt, err := espimg.ParsePartitionTable(e.flash[espimg.PartitionTableOffset : espimg.PartitionTableOffset+espimg.PartitionTableSize])
	if err != nil {
		return "", err
	}
	regions := [][2]uint32{{0, espimg.PartitionTableOffset}, {espimg.PartitionTableOffset, espimg.PartitionTableSize}}
	for _, p := range pt {
		if p.IsApp() || p.Encrypted() {
			regions = append(regions, [2]uint32{p.Offset, p.Size})
		}
	}
	for _, r := range regions {
		if uint64(r[0])+uint64(r[1]) > uint64(len(e.flash)) {
			return "", fmt.Errorf("not encrypting the flash: %#x+%#x is past its end", r[0], r[1])
		}
		enc, err := espimg.EncryptFlash(key, r[0], e.flash[r[0]:r[0]+r[1]])
		if err != nil {
			return "", err
		}
		copy(e.flash[r[0]:], enc)
	}
	f.set(64+18, next, 3)
	f.set(4, 1, 1) // WR_DIS: SPI_BOOT_CRYPT_CNT
	return fmt.Sprintf("flash encryption: key generated on the device, %d regions encrypted, SPI_BOOT_CRYPT_CNT %03b", len(regions), next), nil
}

// set burns width bits of v at block 0 bit n (bits only go to 1).
func (f *espEfuse) set(n int, v uint32, width int) {
	f.blk[0][n/32] |= (v & (1<<width - 1)) << (n % 32)
}
