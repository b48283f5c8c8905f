package pki

import (
	"encoding/hex"
	"strings"
	"time"

	"trustforge/internal/usererr"
)

// Profile is how a product's boards are provisioned: which intermediate
// certifies them, what their certificates say, which key their
// bootloader will trust, and whether release images are encrypted to
// each board.
type Profile struct {
	// Product names the product: the release server's product name and
	// the {product} of the template. It identifies the profile.
	Product string `json:"product"`
	// Issuer is the ID of the intermediate CA that certifies the
	// product's boards. Empty means the product's own intermediate.
	Issuer string `json:"issuer,omitempty"`
	// Template is what the boards' certificates look like.
	Template Template `json:"template"`
	// BootKeyHash is the hex SHA-256 of the SubjectPublicKeyInfo of the
	// key that signs the product's images (MCUboot's KEYHASH, a vault
	// key's ID), fused into each board. Empty leaves the boards' boot key
	// unprovisioned.
	BootKeyHash string `json:"boot_key_hash,omitempty"`
	// EncryptImages makes each board generate its X25519 image encryption
	// key and records its public half, so releases can be encrypted to
	// one board.
	EncryptImages bool `json:"encrypt_images,omitempty"`
	// LeaveUnlocked skips the final lock, for development boards. A
	// production board is locked.
	LeaveUnlocked bool `json:"leave_unlocked,omitempty"`
	// Board is the kind of board the profile provisions: BoardMCUboot
	// ("", boards speaking SMP that are issued certificates) or
	// BoardESP32 (ESP32-family boards provisioned through their ROM
	// loader's eFuses, as ESP32 says).
	Board string `json:"board,omitempty"`
	// ESP32 is the ESP32 variant's settings; used when Board is
	// BoardESP32.
	ESP32 ESP32Profile `json:"esp32,omitzero"`
	// Updated is when the profile was last saved.
	Updated time.Time `json:"updated"`
}

// Validate checks the profile's fields.
func (p Profile) Validate() error {
	if err := CheckProduct(p.Product); err != nil {
		return err
	}
	if err := p.Template.Validate(); err != nil {
		return err
	}
	if p.BootKeyHash != "" {
		if _, err := p.BootKey(); err != nil {
			return err
		}
	}
	switch p.Board {
	case BoardMCUboot:
	case BoardESP32:
		return p.ESP32.Validate()
	default:
		return usererr.Errorf("", "%w: board %q: %q or %q", ErrInvalid, p.Board, BoardMCUboot, BoardESP32)
	}
	return nil
}

// Board kinds of a Profile.
const (
	BoardMCUboot = ""
	BoardESP32   = "esp32"
)

// Flash encryption key sources of an ESP32Profile.
const (
	// ESP32KeyOnDevice leaves the flash encryption key to the chip: its
	// bootloader draws one on first boot and burns it read-protected.
	ESP32KeyOnDevice = "device"
	// ESP32KeyUploaded has the console draw the key and burn it,
	// read-protected, through the ROM loader; it is kept nowhere else.
	ESP32KeyUploaded = "uploaded"
)

// ESP32Profile is how a product's ESP32-family boards are provisioned
// through their ROM loader: the eFuses that make them trust only the
// product's signing key and keep their flash encrypted. Every step burns
// eFuses, which cannot be undone.
type ESP32Profile struct {
	// SecureBootDigest is the Secure Boot v2 key digest (64 lowercase
	// hex digits: the SHA-256 of the public key as a signature block
	// holds it) burned into a free key block; empty burns none.
	SecureBootDigest string `json:"secure_boot_digest,omitempty"`
	// SecureBootKeyName says, for people, which key the digest is of.
	SecureBootKeyName string `json:"secure_boot_key_name,omitempty"`
	// SecureBootSlot (0 to 2) picks the key block purpose
	// SECURE_BOOT_DIGEST0..2.
	SecureBootSlot int `json:"secure_boot_slot,omitempty"`
	// EnableSecureBoot burns SECURE_BOOT_EN once the digest is burned.
	EnableSecureBoot bool `json:"enable_secure_boot,omitempty"`
	// FlashKeySource turns flash encryption on with a key from
	// ESP32KeyOnDevice or ESP32KeyUploaded; "" leaves it off.
	FlashKeySource string `json:"flash_key_source,omitempty"`
	// DisableJTAG burns DIS_PAD_JTAG and DIS_USB_JTAG.
	DisableJTAG bool `json:"disable_jtag,omitempty"`
	// LockDownloadEncryption burns DIS_DOWNLOAD_MANUAL_ENCRYPT and
	// DIS_DOWNLOAD_ICACHE: download mode can no longer write encrypted
	// flash or read it through the cache. It needs flash encryption.
	LockDownloadEncryption bool `json:"lock_download_encryption,omitempty"`
	// DisableDirectBoot burns DIS_LEGACY_SPI_BOOT.
	DisableDirectBoot bool `json:"disable_direct_boot,omitempty"`
	// LockReadProtection write-protects RD_DIS.
	LockReadProtection bool `json:"lock_read_protection,omitempty"`
	// SecureDownload burns ENABLE_SECURITY_DOWNLOAD, last: the ROM loader
	// then only writes flash.
	SecureDownload bool `json:"secure_download,omitempty"`
}

// Validate checks the ESP32 settings for consistency.
func (e ESP32Profile) Validate() error {
	if e.SecureBootDigest != "" {
		if b, err := hex.DecodeString(e.SecureBootDigest); err != nil || len(b) != 32 || strings.ToLower(e.SecureBootDigest) != e.SecureBootDigest {
			return usererr.Errorf("", "%w: Secure Boot key digest %q is not 64 lowercase hex digits", ErrInvalid, e.SecureBootDigest)
		}
	}
	if e.SecureBootSlot < 0 || e.SecureBootSlot > 2 {
		return usererr.Errorf("", "%w: Secure Boot digest slot %d: 0, 1 or 2", ErrInvalid, e.SecureBootSlot)
	}
	if e.EnableSecureBoot && e.SecureBootDigest == "" {
		return usererr.Errorf("", "%w: Secure Boot needs a key digest: with none burned the board would never boot again", ErrInvalid)
	}
	switch e.FlashKeySource {
	case "", ESP32KeyOnDevice, ESP32KeyUploaded:
	default:
		return usererr.Errorf("", "%w: flash encryption key source %q: %q or %q", ErrInvalid, e.FlashKeySource, ESP32KeyOnDevice, ESP32KeyUploaded)
	}
	if e.LockDownloadEncryption && e.FlashKeySource == "" {
		return usererr.Errorf("", "%w: locking download mode's flash encryption needs flash encryption", ErrInvalid)
	}
	return nil
}

// BootKey returns the boot key hash as bytes; nil when none is set.
func (p Profile) BootKey() ([]byte, error) {
	if p.BootKeyHash == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(p.BootKeyHash)
	if err != nil || len(b) != 32 {
		return nil, usererr.Errorf("", "%w: boot key hash %q is not 64 hex digits (a SHA-256)", ErrInvalid, p.BootKeyHash)
	}
	return b, nil
}
