package esprom

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"trustforge/internal/usererr"
)

// More block 0 bit positions of the ESP32-C3 (ESP-IDF's eFuse table).
const (
	bitDisUSBJTAG        = 32 + 9  // DIS_USB_JTAG
	bitDisDownloadICache = 32 + 10 // DIS_DOWNLOAD_ICACHE
	bitDisPadJTAG        = 32 + 19 // DIS_PAD_JTAG
	bitDisLegacySPIBoot  = 128 + 1 // DIS_LEGACY_SPI_BOOT ("direct boot")
)

// Flash encryption key sources a provisioning profile chooses between.
const (
	// KeySourceDevice leaves the key to the chip: its bootloader draws
	// one on first boot, burns it read-protected and encrypts the flash.
	KeySourceDevice = "device"
	// KeySourceUploaded burns a key drawn by the host (the console draws
	// it in the browser and keeps it nowhere), read-protected.
	KeySourceUploaded = "uploaded"
)

// KeyBlockState is one eFuse key block as the device registry records it.
type KeyBlockState struct {
	Block   int    `json:"block"`   // BLOCK_KEYn: 0..5 (eFuse block 4+n)
	Purpose string `json:"purpose"` // espefuse's name: USER, XTS_AES_128_KEY, SECURE_BOOT_DIGEST0, …
	// Digest is a Secure Boot key digest's 64 lowercase hex digits; empty
	// for other purposes (a flash encryption key is never recorded).
	Digest         string `json:"digest,omitempty"`
	ReadProtected  bool   `json:"read_protected"`
	WriteProtected bool   `json:"write_protected"`
}

// SecurityState is an ESP32-family chip's security-relevant eFuse state,
// as the device registry records it. Every field only ever goes one way
// on a chip (eFuse bits go from 0 to 1): Regresses tells a later report
// that contradicts an earlier one.
type SecurityState struct {
	Chip             string          `json:"chip"` // e.g. ESP32-C3
	SecureBoot       bool            `json:"secure_boot"`
	AggressiveRevoke bool            `json:"aggressive_revoke"`
	RevokedDigests   []int           `json:"revoked_digests,omitempty"` // SECURE_BOOT_KEY_REVOKEn set
	KeyBlocks        []KeyBlockState `json:"key_blocks"`
	FlashCryptCnt    int             `json:"flash_crypt_cnt"`  // SPI_BOOT_CRYPT_CNT, 0..7
	FlashEncryption  bool            `json:"flash_encryption"` // an odd number of its bits set
	// FlashKeySource is how the flash encryption key came to be, as the
	// console that provisioned the board knows it: KeySourceDevice,
	// KeySourceUploaded, or "" when not known.
	FlashKeySource        string `json:"flash_key_source,omitempty"`
	ManualEncryptDisabled bool   `json:"manual_encrypt_disabled"` // DIS_DOWNLOAD_MANUAL_ENCRYPT
	DownloadICacheOff     bool   `json:"download_icache_disabled"`
	JTAGDisabled          bool   `json:"jtag_disabled"`        // DIS_PAD_JTAG and DIS_USB_JTAG
	DirectBootDisabled    bool   `json:"direct_boot_disabled"` // DIS_LEGACY_SPI_BOOT
	ReadProtectionLocked  bool   `json:"read_protection_locked"`
	SecureDownload        bool   `json:"secure_download"` // ENABLE_SECURITY_DOWNLOAD
	DownloadModeDisabled  bool   `json:"download_mode_disabled"`
}

// State returns the chip's security state (chip names the chip).
func (e *Efuses) State(chip string) SecurityState {
	s := SecurityState{
		Chip:                  chip,
		SecureBoot:            e.SecureBootEnabled(),
		AggressiveRevoke:      e.bit(bitAggressiveRevoke),
		FlashCryptCnt:         e.CryptCount(),
		FlashEncryption:       e.FlashEncryptionEnabled(),
		ManualEncryptDisabled: e.bit(bitDisManualEncrypt),
		DownloadICacheOff:     e.bit(bitDisDownloadICache),
		JTAGDisabled:          e.bit(bitDisPadJTAG) && e.bit(e.layout().bitDisUSBJTAG),
		DirectBootDisabled:    e.bit(bitDisLegacySPIBoot),
		ReadProtectionLocked:  e.bit(bitWrDisRdDis),
		SecureDownload:        e.SecureDownload(),
		DownloadModeDisabled:  e.bit(bitDisDownloadMode),
	}
	for slot := range 3 {
		if e.bit(bitKeyRevoke0 + slot) {
			s.RevokedDigests = append(s.RevokedDigests, slot)
		}
	}
	for k := range 6 {
		kb := KeyBlockState{Block: k, Purpose: e.KeyPurpose(k).String(),
			ReadProtected: e.KeyReadProtected(k), WriteProtected: e.KeyWriteProtected(k)}
		if p := e.KeyPurpose(k); p >= PurposeSecureBootDigest && p <= PurposeSecureBootDigest+2 && !kb.ReadProtected {
			kb.Digest = hex.EncodeToString(e.Key(k))
		}
		s.KeyBlocks = append(s.KeyBlocks, kb)
	}
	return s
}

// ErrBadState reports a security state that is malformed, or that
// contradicts an earlier one.
var ErrBadState = usererr.New("esprom", "eFuse state")

// StateError is a security state that is malformed or contradicts an
// earlier one. It wraps [ErrBadState].
type StateError struct {
	// Problem says what is wrong, for people: "chip \"\": 1 to 16
	// printable characters".
	Problem string
}

func (e *StateError) Error() string { return ErrBadState.Error() + ": " + e.Problem }

// UserMessage is the error for people: "eFuse state: " and the problem.
func (e *StateError) UserMessage() string { return usererr.Message(ErrBadState) + ": " + e.Problem }

func (e *StateError) Unwrap() error { return ErrBadState }

// badState returns a *StateError with the formatted problem.
func badState(format string, a ...any) error {
	return &StateError{Problem: fmt.Sprintf(format, a...)}
}

// purposeNames is built on first use, not when the console starts.
var purposeNames = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for p := range 16 {
		m[KeyPurpose(p).String()] = true
	}
	return m
})

// ParseState decodes and checks a JSON security state from outside (at
// most 4 KiB): known fields only, six key blocks in order, known
// purposes, digests only on Secure Boot digest blocks, a count of 0..7
// that agrees with FlashEncryption.
func ParseState(b []byte) (SecurityState, error) {
	var s SecurityState
	if len(b) > 4<<10 {
		return s, badState("%d bytes, more than 4 KiB", len(b))
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&s); err != nil {
		return SecurityState{}, badState("%v", err)
	}
	if d.More() {
		return SecurityState{}, badState("data after the object")
	}
	if err := s.Validate(); err != nil {
		return SecurityState{}, err
	}
	return s, nil
}

// Validate checks that s could be a chip's state.
func (s SecurityState) Validate() error {
	bad := badState
	if s.Chip == "" || len(s.Chip) > 16 || strings.ContainsFunc(s.Chip, func(r rune) bool { return r < 0x20 || r > 0x7e }) {
		return bad("chip %q: 1 to 16 printable characters", s.Chip)
	}
	if s.FlashCryptCnt < 0 || s.FlashCryptCnt > 7 {
		return bad("flash_crypt_cnt %d: SPI_BOOT_CRYPT_CNT has 3 bits", s.FlashCryptCnt)
	}
	if odd := popcount(byte(s.FlashCryptCnt))%2 == 1; odd != s.FlashEncryption {
		return bad("flash_encryption %v disagrees with flash_crypt_cnt %03b", s.FlashEncryption, s.FlashCryptCnt)
	}
	switch s.FlashKeySource {
	case "", KeySourceDevice, KeySourceUploaded:
	default:
		return bad("flash_key_source %q: %q or %q", s.FlashKeySource, KeySourceDevice, KeySourceUploaded)
	}
	for i, slot := range s.RevokedDigests {
		if slot < 0 || slot > 2 || i > 0 && slot <= s.RevokedDigests[i-1] {
			return bad("revoked_digests %v: slots 0..2, ascending", s.RevokedDigests)
		}
	}
	if len(s.KeyBlocks) != 6 {
		return bad("%d key blocks, want BLOCK_KEY0..5", len(s.KeyBlocks))
	}
	for i, k := range s.KeyBlocks {
		if k.Block != i {
			return bad("key block %d listed as %d", i, k.Block)
		}
		if !purposeNames()[k.Purpose] {
			return bad("BLOCK_KEY%d: unknown purpose %q", i, k.Purpose)
		}
		if k.Digest == "" {
			continue
		}
		if !strings.HasPrefix(k.Purpose, "SECURE_BOOT_DIGEST") {
			return bad("BLOCK_KEY%d: a %s key is never recorded", i, k.Purpose)
		}
		if b, err := hex.DecodeString(k.Digest); err != nil || len(b) != 32 || strings.ToLower(k.Digest) != k.Digest {
			return bad("BLOCK_KEY%d: digest is not 64 lowercase hex digits", i)
		}
	}
	return nil
}

// Regresses returns an error naming what s clears that prior had set: an
// eFuse cannot go back from 1 to 0, so a board reporting it is not the
// board recorded before (or its report was altered). A flash encryption
// key source recorded before must stay.
func (s SecurityState) Regresses(prior SecurityState) error {
	var lost []string
	was := func(name string, before, now bool) {
		if before && !now {
			lost = append(lost, name)
		}
	}
	was("SECURE_BOOT_EN", prior.SecureBoot, s.SecureBoot)
	was("SECURE_BOOT_AGGRESSIVE_REVOKE", prior.AggressiveRevoke, s.AggressiveRevoke)
	was("DIS_DOWNLOAD_MANUAL_ENCRYPT", prior.ManualEncryptDisabled, s.ManualEncryptDisabled)
	was("DIS_DOWNLOAD_ICACHE", prior.DownloadICacheOff, s.DownloadICacheOff)
	was("DIS_PAD_JTAG/DIS_USB_JTAG", prior.JTAGDisabled, s.JTAGDisabled)
	was("DIS_LEGACY_SPI_BOOT", prior.DirectBootDisabled, s.DirectBootDisabled)
	was("WR_DIS of RD_DIS", prior.ReadProtectionLocked, s.ReadProtectionLocked)
	was("ENABLE_SECURITY_DOWNLOAD", prior.SecureDownload, s.SecureDownload)
	was("DIS_DOWNLOAD_MODE", prior.DownloadModeDisabled, s.DownloadModeDisabled)
	if prior.FlashCryptCnt&^s.FlashCryptCnt != 0 {
		lost = append(lost, fmt.Sprintf("SPI_BOOT_CRYPT_CNT bits (%03b, was %03b)", s.FlashCryptCnt, prior.FlashCryptCnt))
	}
	for _, slot := range prior.RevokedDigests {
		if !slices.Contains(s.RevokedDigests, slot) {
			lost = append(lost, fmt.Sprintf("SECURE_BOOT_KEY_REVOKE%d", slot))
		}
	}
	if s.Chip != prior.Chip {
		lost = append(lost, fmt.Sprintf("the chip (%s, was %s)", s.Chip, prior.Chip))
	}
	if prior.FlashKeySource != "" && s.FlashKeySource != prior.FlashKeySource {
		lost = append(lost, fmt.Sprintf("the flash encryption key source (%q, was %q)", s.FlashKeySource, prior.FlashKeySource))
	}
	for i, p := range prior.KeyBlocks {
		if i >= len(s.KeyBlocks) {
			break
		}
		k := s.KeyBlocks[i]
		was(fmt.Sprintf("RD_DIS of BLOCK_KEY%d", i), p.ReadProtected, k.ReadProtected)
		was(fmt.Sprintf("WR_DIS of BLOCK_KEY%d", i), p.WriteProtected, k.WriteProtected)
		if p.Purpose != "USER" && k.Purpose != p.Purpose {
			lost = append(lost, fmt.Sprintf("KEY_PURPOSE_%d (%s, was %s)", i, k.Purpose, p.Purpose))
		}
		if p.Digest != "" && k.Digest != p.Digest {
			lost = append(lost, fmt.Sprintf("BLOCK_KEY%d's digest", i))
		}
	}
	if len(lost) > 0 {
		return badState("the board reports %s cleared or changed, which eFuses cannot do: this is not the board recorded before",
			strings.Join(lost, ", "))
	}
	return nil
}

// Protections are the eFuses that close a provisioned board's remaining
// ways in, each optional.
type Protections struct {
	// JTAG disables JTAG for good: DIS_PAD_JTAG and DIS_USB_JTAG.
	JTAG bool `json:"jtag,omitempty"`
	// DownloadEncryption stops download mode from writing encrypted flash
	// or reading it through the cache: DIS_DOWNLOAD_MANUAL_ENCRYPT and
	// DIS_DOWNLOAD_ICACHE.
	DownloadEncryption bool `json:"download_encryption,omitempty"`
	// DirectBoot disables booting code straight from flash without an
	// image header: DIS_LEGACY_SPI_BOOT.
	DirectBoot bool `json:"direct_boot,omitempty"`
	// ReadProtection write-protects RD_DIS, so no key block can be made
	// unreadable any more (a Secure Boot digest hidden from the
	// bootloader would brick the board).
	ReadProtection bool `json:"read_protection,omitempty"`
	// SecureDownload turns on Secure Download Mode: afterwards the ROM
	// loader only writes flash; eFuses can no longer be read or burned
	// through it. It comes last.
	SecureDownload bool `json:"secure_download,omitempty"`
}

// Any reports whether p asks for any protection.
func (p Protections) Any() bool { return p != Protections{} }

// PlanProtections prepares the protections p asks for that e does not
// have yet. It refuses when all are already set.
func PlanProtections(e *Efuses, p Protections) (*Burn, error) {
	b := &Burn{What: "set the read and write protections"}
	add := func(bit int, change string) {
		if !e.bit(bit) {
			b.set(bit)
			b.Changes = append(b.Changes, change)
		}
	}
	if p.JTAG {
		add(bitDisPadJTAG, "DIS_PAD_JTAG = 1 (JTAG on the pads off for good)")
		add(e.layout().bitDisUSBJTAG, "DIS_USB_JTAG = 1 (JTAG over USB off for good)")
	}
	if p.DownloadEncryption {
		add(bitDisManualEncrypt, "DIS_DOWNLOAD_MANUAL_ENCRYPT = 1")
		add(bitDisDownloadICache, "DIS_DOWNLOAD_ICACHE = 1")
	}
	if p.DirectBoot {
		add(bitDisLegacySPIBoot, "DIS_LEGACY_SPI_BOOT = 1 (no direct boot)")
	}
	if p.ReadProtection {
		add(bitWrDisRdDis, "WR_DIS: RD_DIS write-protected (no key block can be hidden any more)")
	}
	if p.SecureDownload {
		add(bitSecureDownload, "ENABLE_SECURITY_DOWNLOAD = 1 (the ROM loader only writes flash from now on)")
	}
	if len(b.Changes) == 0 {
		return nil, usererr.Errorf("", "%w: the protections asked for are all set already", ErrEfuse)
	}
	return b, nil
}
