package pki

import (
	"encoding/hex"
	"fmt"
	"time"
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
	return nil
}

// BootKey returns the boot key hash as bytes; nil when none is set.
func (p Profile) BootKey() ([]byte, error) {
	if p.BootKeyHash == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(p.BootKeyHash)
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("%w: boot key hash %q is not 64 hex digits (a SHA-256)", ErrInvalid, p.BootKeyHash)
	}
	return b, nil
}
