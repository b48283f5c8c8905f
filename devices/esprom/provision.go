package esprom

import (
	"bytes"
	"io"

	"trustforge/internal/usererr"
)

// Provisioning is the eFuse state a product's boards are brought to, one
// confirmed step at a time.
type Provisioning struct {
	// SecureBootDigest is the Secure Boot v2 key digest to burn with
	// purpose SECURE_BOOT_DIGEST<SecureBootSlot>; nil burns none.
	SecureBootDigest []byte
	SecureBootSlot   int
	// SecureBoot burns SECURE_BOOT_EN once the digest is there.
	SecureBoot bool
	// FlashKeySource is KeySourceUploaded (draw a key from Rand, burn it
	// read-protected, enable flash encryption), KeySourceDevice (burn
	// nothing: the bootloader draws the key on first boot) or "" (none).
	FlashKeySource string
	// Protections are burned last.
	Protections Protections
}

// NextBurn returns the first step that e still lacks to match p, in the
// order a board is provisioned: Secure Boot digest, Secure Boot, flash
// encryption key, flash encryption, protections. It returns nil when e
// matches p. A flash encryption key is drawn from rand.
func NextBurn(e *Efuses, p Provisioning, rand io.Reader) (*Burn, error) {
	if p.SecureBootDigest != nil {
		purpose := PurposeSecureBootDigest + KeyPurpose(p.SecureBootSlot)
		have := false
		for k := range 6 {
			if e.KeyPurpose(k) != purpose {
				continue
			}
			if !e.KeyReadProtected(k) && bytes.Equal(e.Key(k), p.SecureBootDigest) {
				have = true
				break
			}
			return nil, usererr.Errorf("", "%w: BLOCK_KEY%d already holds another %v: this board was provisioned for another key", ErrEfuse, k, purpose)
		}
		if !have {
			return PlanKey(e, purpose, p.SecureBootDigest, false)
		}
	}
	if p.SecureBoot && !e.SecureBootEnabled() {
		return PlanSecureBoot(e)
	}
	if p.FlashKeySource == KeySourceUploaded {
		has := false
		for k := range 6 {
			has = has || e.KeyPurpose(k) == PurposeXTSAES128
		}
		if !has {
			key := make([]byte, 32)
			if _, err := io.ReadFull(rand, key); err != nil {
				return nil, usererr.Errorf("esprom", "drawing a flash encryption key: %w", err)
			}
			return PlanKey(e, PurposeXTSAES128, key, true)
		}
		if !e.FlashEncryptionEnabled() {
			return PlanFlashEncryption(e, false)
		}
	}
	if p.Protections.Any() {
		b, err := PlanProtections(e, p.Protections)
		if err == nil {
			return b, nil
		}
	}
	return nil, nil
}
