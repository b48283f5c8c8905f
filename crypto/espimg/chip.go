package espimg

import (
	"fmt"

	"trustforge/internal/usererr"
)

// Chip is an Espressif chip's image id, the 16-bit chip_id field of the
// extended image header.
type Chip uint16

// The chips whose ids the image format documents.
const (
	ESP32   Chip = 0x0000
	ESP32S2 Chip = 0x0002
	ESP32C3 Chip = 0x0005
	ESP32S3 Chip = 0x0009
	ESP32C2 Chip = 0x000C
	ESP32C6 Chip = 0x000D
	ESP32H2 Chip = 0x0010
	ESP32P4 Chip = 0x0012
)

var chipNames = map[Chip]string{
	ESP32: "ESP32", ESP32S2: "ESP32-S2", ESP32C3: "ESP32-C3", ESP32S3: "ESP32-S3",
	ESP32C2: "ESP32-C2", ESP32C6: "ESP32-C6", ESP32H2: "ESP32-H2", ESP32P4: "ESP32-P4",
}

// String returns the chip's marketing name, such as "ESP32-C3".
func (c Chip) String() string {
	if n, ok := chipNames[c]; ok {
		return n
	}
	return fmt.Sprintf("chip id %#04x", uint16(c))
}

// ParseChip reads a chip name as esptool spells it ("esp32c3") or as
// String does ("ESP32-C3").
func ParseChip(s string) (Chip, error) {
	norm := func(s string) string {
		b := make([]byte, 0, len(s))
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c == '-' || c == '_' {
				continue
			}
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
		}
		return string(b)
	}
	for c, n := range chipNames {
		if norm(n) == norm(s) {
			return c, nil
		}
	}
	return 0, usererr.Errorf("espimg", "unknown chip %q", s)
}

// Revision is a chip revision in the image header's form: major*100+minor,
// so v0.3 is 3 and v1.1 is 101.
type Revision uint16

// String returns the revision as "v0.3".
func (r Revision) String() string { return fmt.Sprintf("v%d.%d", r/100, r%100) }

// SignatureSchemes reports which Secure Boot v2 schemes the chip's ROM and
// bootloader accept, per Espressif's documentation for the chip.
func (c Chip) SignatureSchemes() []Scheme {
	switch c {
	case ESP32, ESP32S2, ESP32C3, ESP32S3:
		return []Scheme{RSA3072}
	case ESP32C2:
		return []Scheme{ECDSAP256}
	default:
		return []Scheme{RSA3072, ECDSAP256}
	}
}

// MaxSignatures reports how many signature blocks (and trusted key
// digests) the chip uses: one on the ESP32 and ESP32-C2, three elsewhere.
func (c Chip) MaxSignatures() int {
	if c == ESP32 || c == ESP32C2 {
		return 1
	}
	return 3
}
