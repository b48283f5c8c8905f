package mastering

import (
	"strconv"
	"strings"

	"trustforge/internal/usererr"
)

// DefaultDFUAddress is where an STM32's DfuSe bootloader gets the image
// when a package names no address: the start of its first flash memory.
const DefaultDFUAddress = 0x08000000

// dfuAlign is the alignment a DfuSe address must have: STM32 flash is
// programmed in words (or wider), never from the middle of one.
const dfuAlign = 4

// ParseDFUAddress reads the flash address an engineer types for an
// STM32's DfuSe bootloader: hexadecimal, with or without 0x, such as
// 0x08000000, or "" for the default (it returns 0, which a package reads
// as the start of the first flash memory the bootloader lists). The
// address must fit in 32 bits, be word aligned and not be zero.
func ParseDFUAddress(s string) (uint32, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, nil
	}
	digits := t
	if len(digits) > 2 && (digits[:2] == "0x" || digits[:2] == "0X") {
		digits = digits[2:]
	}
	digits = strings.ReplaceAll(digits, "_", "")
	if digits == "" || strings.Trim(digits, "0123456789abcdefABCDEF") != "" {
		return 0, usererr.Errorf("mastering", "the flash address %q is not a hexadecimal address such as 0x08000000", t)
	}
	if len(strings.TrimLeft(digits, "0")) > 8 {
		return 0, usererr.Errorf("mastering", "the flash address %s is over 32 bits: an STM32 address is at most 0xFFFFFFFF", t)
	}
	v, err := strconv.ParseUint(digits, 16, 32)
	switch {
	case err != nil:
		return 0, usererr.Errorf("mastering", "the flash address %q is not a hexadecimal address such as 0x08000000", t)
	case v == 0:
		return 0, usererr.New("mastering", "the flash address 0x00000000 is not flash: leave it empty for the start of flash (0x08000000)")
	case v%dfuAlign != 0:
		return 0, usererr.Errorf("mastering", "the flash address 0x%08X is not word aligned: it must be a multiple of %d", v, dfuAlign)
	}
	return uint32(v), nil
}
