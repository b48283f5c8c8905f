package espimg

import (
	"crypto/aes"

	"trustforge/internal/usererr"

	"golang.org/x/crypto/xts"
)

// DataUnit is the flash encryption data unit: 1024 bits, aligned to its
// flash address.
const DataUnit = 128

// EncryptFlash encrypts data that will be written at flash address addr,
// as the flash controller of an ESP32-S2, -S3 or -C3 would (see the package
// documentation), and returns the ciphertext. key is the eFuse key: 32
// bytes for XTS-AES-128, 64 for XTS-AES-256. addr and len(data) must be
// multiples of 16, as for `espsecure encrypt_flash_data --aes_xts`.
func EncryptFlash(key []byte, addr uint32, data []byte) ([]byte, error) {
	return flashXTS(key, addr, data, true)
}

// DecryptFlash reverses EncryptFlash: it returns what the flash cache
// shows the CPU when it reads encrypted flash at addr.
func DecryptFlash(key []byte, addr uint32, data []byte) ([]byte, error) {
	return flashXTS(key, addr, data, false)
}

func flashXTS(key []byte, addr uint32, data []byte, encrypt bool) ([]byte, error) {
	if len(key) != 32 && len(key) != 64 {
		return nil, usererr.Errorf("", "%w: a flash encryption key has 32 bytes (XTS-AES-128) or 64 (XTS-AES-256), this one %d", ErrKey, len(key))
	}
	if addr%16 != 0 {
		return nil, usererr.Errorf("espimg", "flash encryption: address %#x is not a multiple of 16", addr)
	}
	if len(data)%16 != 0 {
		return nil, usererr.Errorf("espimg", "flash encryption: length %d is not a multiple of 16", len(data))
	}
	if uint64(addr)+uint64(len(data)) > 1<<32 {
		return nil, usererr.Errorf("espimg", "flash encryption: %d bytes at %#x run past 4 GiB", len(data), addr)
	}
	c, err := xts.NewCipher(aes.NewCipher, key)
	if err != nil {
		return nil, usererr.Errorf("", "%w: %v", ErrKey, err)
	}
	out := make([]byte, len(data))
	unit := make([]byte, DataUnit)
	// Walk the data units that the range touches; a partial unit at either
	// end is processed whole (zero filled) and only its part kept, as the
	// hardware processes whole units.
	start := addr &^ (DataUnit - 1)
	end := uint64(addr) + uint64(len(data))
	for u := uint64(start); u < end; u += DataUnit {
		clear(unit)
		lo := max(u, uint64(addr))
		hi := min(u+DataUnit, end)
		copy(unit[lo-u:hi-u], data[lo-uint64(addr):hi-uint64(addr)])
		reverse(unit)
		if encrypt {
			c.Encrypt(unit, unit, u)
		} else {
			c.Decrypt(unit, unit, u)
		}
		reverse(unit)
		copy(out[lo-uint64(addr):hi-uint64(addr)], unit[lo-u:hi-u])
	}
	return out, nil
}
