package mcuimg

import (
	"crypto/ed25519"
	"crypto/rand"
	"io"

	"trustforge/crypto/engine"
	"trustforge/crypto/keys"
	"trustforge/internal/usererr"
)

// KeyFormat selects how a signed image names its signing key.
type KeyFormat int

// Key formats, as imgtool's --public-key-format names them.
const (
	// KeyFormatHash puts the hash of the key's SPKI in a KEYHASH TLV (the default).
	KeyFormatHash KeyFormat = iota
	// KeyFormatFull puts the whole SPKI in a PUBKEY TLV, for bootloaders
	// that keep only a key hash in hardware.
	KeyFormatFull
)

// SignOptions describe the image Sign makes. The zero value makes an
// unsigned, unencrypted image of version 0.0.0+0 with a 32-byte header.
type SignOptions struct {
	// Key signs the image. Nil makes an image with a hash and no signature.
	Key *keys.PrivateKey
	// PublicKeyFormat selects a KEYHASH (zero) or PUBKEY TLV.
	PublicKeyFormat KeyFormat
	// Pure signs the image itself rather than its hash (Ed25519 only): the
	// image gets a SIG_PURE TLV and a SHA512 hash, as imgtool --pure.
	Pure bool
	// Hash selects the image hash TLV: TLVSHA256, TLVSHA384 or TLVSHA512.
	// Zero means SHA256, or SHA512 with Pure. ECDSA-P256 keys need SHA256.
	Hash TLVType

	// Version is the image version.
	Version Version
	// HeaderSize is the header area size, at least 32; zero means 32.
	HeaderSize int
	// PadHeader prepends the header area to the payload. Without it, the
	// input must start with HeaderSize zero bytes, which the header replaces.
	PadHeader bool
	// LoadAddr is the RAM load address; non-zero sets the RAM_LOAD flag.
	LoadAddr uint32
	// ROMFixed is the flash address a ROM_FIXED image runs from; non-zero
	// sets the ROM_FIXED flag and the header's load address.
	ROMFixed uint32
	// NonBootable sets the NON_BOOTABLE flag.
	NonBootable bool

	// SecurityCounter, when non-nil, adds a protected SEC_CNT TLV.
	// AutoSecurityCounter gives imgtool's `-s auto` value.
	SecurityCounter *uint32
	// Dependencies add protected DEPENDENCY TLVs.
	Dependencies []Dependency
	// CustomTLVs add protected TLVs of vendor types (0xa0–0xfffe), in order.
	CustomTLVs []TLV

	// EncryptTo encrypts the payload to a device's X25519 key (ENC_X25519
	// TLV) or P-256 key (ENC_EC256 TLV). Nil leaves the image in the clear.
	EncryptTo *keys.PublicKey
	// EncryptKeyLen is the AES key size in bits: 128 (or zero) or 256.
	EncryptKeyLen int
	// Clear keeps the payload in plaintext while still setting the
	// encryption flag and wrapping a key, as imgtool --clear does for
	// images programmed straight into the primary slot.
	Clear bool

	// SlotSize is the slot the image is for. Non-zero refuses images that do
	// not fit it with their trailer; zero skips that check.
	SlotSize int
	// Pad fills the output to SlotSize and ends it with the trailer magic:
	// the bootloader does a test swap. Needs SlotSize.
	Pad bool
	// Confirm sets image_ok in the trailer too: a permanent swap. It implies Pad.
	Confirm bool
	// Align is the flash write alignment (1, 2, 4, 8, 16 or 32); zero means 8.
	Align int
	// MaxAlign is the largest write alignment of the device; zero means
	// max(8, Align). Other values than 8 change the trailer magic.
	MaxAlign int
	// MaxSectors is the number of sectors the trailer's swap status must
	// cover; zero means 128.
	MaxSectors int
	// OverwriteOnly sizes the trailer for overwrite-only upgrades.
	OverwriteOnly bool
	// ErasedZero says erased flash reads 0x00 rather than 0xff: header and
	// slot padding use it.
	ErasedZero bool

	// Rand is the source of image keys, ephemeral keys and ECDSA nonces;
	// nil means crypto/rand.Reader.
	Rand io.Reader

	// Engine computes the image's SHA-256 and the payload's AES-CTR; nil
	// means the Go standard library (engine.Go). The console passes the
	// browser's WebCrypto, which makes the same bytes faster.
	Engine engine.Engine
}

// SignResult describes an image SignTo wrote.
type SignResult struct {
	Header   Header
	HashType TLVType
	Hash     []byte // the image hash (of the plaintext)
	Size     int    // bytes written: the image, plus slot padding with Pad
}

// plan is SignOptions checked and resolved.
type plan struct {
	o             SignOptions
	hashType      TLVType
	headerSize    int
	inputSize     int // bytes read from the input
	payloadSize   int // plaintext bytes of the input payload
	encPad        int // zero bytes added so the payload fills AES blocks
	keyLen        int
	protected     []byte
	flags         Flags
	layout        TrailerLayout
	trailerSize   int
	erased        byte
	unprotMinSize int
}

// plan checks the options against an input of inputSize bytes and
// resolves their defaults, in the order imgtool checks them.
func (o *SignOptions) plan(inputSize int64) (*plan, error) {
	p := &plan{o: *o, erased: erased}
	if o.ErasedZero {
		p.erased = 0
	}
	if p.o.Rand == nil {
		p.o.Rand = rand.Reader
	}
	if o.Confirm {
		p.o.Pad = true
	}
	if err := p.planSizes(inputSize); err != nil {
		return nil, err
	}
	if err := p.planSignature(); err != nil {
		return nil, err
	}
	if err := p.planEncryption(); err != nil {
		return nil, err
	}
	if err := p.planFlags(); err != nil {
		return nil, err
	}
	if err := p.planProtected(); err != nil {
		return nil, err
	}
	if err := p.planSlot(); err != nil {
		return nil, err
	}
	return p, nil
}

// planSizes resolves the header size and the input and payload sizes.
func (p *plan) planSizes(inputSize int64) error {
	o := &p.o
	p.headerSize = o.HeaderSize
	if p.headerSize == 0 {
		p.headerSize = HeaderSize
	}
	if p.headerSize < HeaderSize || p.headerSize > 0xffff {
		return usererr.Errorf("", "%w: header size %#x (want %#x to 0xffff)", ErrInvalidOption, o.HeaderSize, HeaderSize)
	}
	if inputSize < 0 || inputSize > 0xffffffff {
		return usererr.Errorf("", "%w: input of %d bytes", ErrInvalidOption, inputSize)
	}
	p.inputSize = int(inputSize)
	p.payloadSize = p.inputSize
	if !o.PadHeader {
		if p.inputSize < p.headerSize {
			return usererr.Errorf("", "%w: input of %#x bytes is shorter than the header size %#x (use PadHeader to add the header)", ErrInvalidOption, inputSize, p.headerSize)
		}
		p.payloadSize -= p.headerSize
	}
	return nil
}

// planSignature resolves the image hash and checks the key can sign it.
func (p *plan) planSignature() error {
	o := &p.o
	p.hashType = o.Hash
	if p.hashType == 0 {
		p.hashType = TLVSHA256
		if o.Pure {
			p.hashType = TLVSHA512
		}
	}
	if !p.hashType.IsHash() {
		return usererr.Errorf("", "%w: hash %v (want SHA256, SHA384 or SHA512)", ErrInvalidOption, p.hashType)
	}
	if o.Pure && (o.Key == nil || o.Key.Algorithm() != keys.Ed25519) {
		return usererr.Errorf("", "%w: pure signatures need an ed25519 key", ErrInvalidOption)
	}
	if o.Key == nil {
		return nil
	}
	switch o.Key.Algorithm() {
	case keys.ECDSAP256:
		if p.hashType != TLVSHA256 {
			return usererr.Errorf("", "%w: ecdsa-p256 keys sign SHA256 images, not %s", ErrInvalidOption, p.hashType.Name())
		}
	case keys.Ed25519:
		if p.hashType == TLVSHA384 || (o.Pure && p.hashType != TLVSHA512) {
			return usererr.Errorf("", "%w: ed25519 keys sign SHA256 or SHA512 images (SHA512 when pure), not %s", ErrInvalidOption, p.hashType.Name())
		}
	default:
		return usererr.Errorf("", "%w: %s keys cannot sign images", ErrInvalidOption, o.Key.Algorithm())
	}
	if o.PublicKeyFormat != KeyFormatHash && o.PublicKeyFormat != KeyFormatFull {
		return usererr.Errorf("", "%w: public key format %d", ErrInvalidOption, o.PublicKeyFormat)
	}
	return nil
}

// planEncryption resolves the AES key length, the encryption flag and the
// padding that fills the payload's last AES block.
func (p *plan) planEncryption() error {
	o := &p.o
	if o.EncryptTo == nil {
		if o.Clear || o.EncryptKeyLen != 0 {
			return usererr.Errorf("", "%w: Clear and EncryptKeyLen need EncryptTo", ErrInvalidOption)
		}
		return p.checkPayloadSize()
	}
	if _, err := encTLVType(o.EncryptTo.Algorithm()); err != nil {
		return err
	}
	if o.Pure {
		return usererr.Errorf("", "%w: a pure signature cannot cover an encrypted payload (the bootloader checks it on the ciphertext)", ErrInvalidOption)
	}
	switch o.EncryptKeyLen {
	case 0, 128:
		p.keyLen, p.flags = 16, FlagEncryptedAES128
	case 256:
		p.keyLen, p.flags = 32, FlagEncryptedAES256
	default:
		return usererr.Errorf("", "%w: encryption key length %d (want 128 or 256)", ErrInvalidOption, o.EncryptKeyLen)
	}
	// imgtool pads header area plus payload to whole AES blocks.
	if r := (p.headerSize + p.payloadSize) % 16; r != 0 {
		p.encPad = 16 - r
	}
	return p.checkPayloadSize()
}

// checkPayloadSize refuses a payload the header's 32-bit size cannot hold.
func (p *plan) checkPayloadSize() error {
	if uint64(p.payloadSize)+uint64(p.encPad) > 0xffffffff {
		return usererr.Errorf("", "%w: payload of %d bytes is too large", ErrInvalidOption, p.payloadSize)
	}
	return nil
}

// planFlags sets the header flags other than encryption's.
func (p *plan) planFlags() error {
	o := &p.o
	if o.LoadAddr != 0 && o.ROMFixed != 0 {
		return usererr.Errorf("", "%w: LoadAddr and ROMFixed are exclusive", ErrInvalidOption)
	}
	if o.LoadAddr != 0 {
		p.flags |= FlagRAMLoad
	}
	if o.ROMFixed != 0 {
		p.flags |= FlagROMFixed
	}
	if o.NonBootable {
		p.flags |= FlagNonBootable
	}
	return nil
}

// planProtected encodes the protected TLV area, in imgtool's order.
func (p *plan) planProtected() error {
	o := &p.o
	var prot []TLV
	if o.SecurityCounter != nil {
		prot = append(prot, TLV{Type: TLVSecCnt, Value: le.AppendUint32(nil, *o.SecurityCounter)})
	}
	for _, d := range o.Dependencies {
		prot = append(prot, TLV{Type: TLVDependency, Value: d.marshal()})
	}
	seen := map[TLVType]bool{}
	for _, t := range o.CustomTLVs {
		if !t.Type.IsVendor() {
			return usererr.Errorf("", "%w: custom TLV type %#x is outside %#x–%#x", ErrInvalidOption, uint16(t.Type), uint16(TLVVendorMin), uint16(TLVVendorMax))
		}
		if seen[t.Type] {
			return usererr.Errorf("", "%w: custom TLV %#x given twice", ErrInvalidOption, uint16(t.Type))
		}
		seen[t.Type] = true
		prot = append(prot, TLV{Type: t.Type, Value: t.Value})
	}
	var err error
	p.protected, err = encodeTLVArea(ProtectedInfoMagic, prot)
	return err
}

// planSlot sizes the trailer and checks the smallest image fits the slot.
func (p *plan) planSlot() error {
	o := &p.o
	p.layout = TrailerLayout{Align: o.Align, MaxAlign: o.MaxAlign, MaxSectors: o.MaxSectors, OverwriteOnly: o.OverwriteOnly, Encrypted: o.EncryptTo != nil}
	var err error
	if p.trailerSize, err = p.layout.Size(); err != nil {
		return err
	}
	if p.layout, err = p.layout.normalized(); err != nil {
		return err
	}
	if o.Pad && o.SlotSize == 0 {
		return usererr.Errorf("", "%w: padding needs a slot size", ErrInvalidOption)
	}
	if o.SlotSize < 0 {
		return usererr.Errorf("", "%w: slot size %d", ErrInvalidOption, o.SlotSize)
	}
	p.unprotMinSize = p.unprotectedSize(70)
	return p.checkFit(p.unprotMinSize)
}

// unprotectedSize is the size of the unprotected TLV area for an ECDSA
// signature of ecdsaLen bytes.
func (p *plan) unprotectedSize(ecdsaLen int) int {
	n := tlvInfoSize + tlvHeaderSize + hashSize(p.hashType)
	if k := p.o.Key; k != nil {
		if p.o.Pure {
			n += tlvHeaderSize + 1
		}
		if p.o.PublicKeyFormat == KeyFormatFull {
			n += tlvHeaderSize + len(k.Public().SPKI())
		} else {
			n += tlvHeaderSize + hashSize(p.hashType)
		}
		if k.Algorithm() == keys.ECDSAP256 {
			n += tlvHeaderSize + ecdsaLen
		} else {
			n += tlvHeaderSize + ed25519.SignatureSize
		}
	}
	if e := p.o.EncryptTo; e != nil {
		point := x25519PointSize
		if e.Algorithm() == keys.ECDSAP256 {
			point = p256PointSize
		}
		n += tlvHeaderSize + point + eciesTagSize + p.keyLen
	}
	return n
}

func (p *plan) imageSize(unprot int) int {
	return p.headerSize + p.payloadSize + p.encPad + len(p.protected) + unprot
}

func (p *plan) checkFit(unprot int) error {
	if p.o.SlotSize == 0 {
		return nil
	}
	if size := p.imageSize(unprot); size+p.trailerSize > p.o.SlotSize {
		return usererr.Errorf("", "%w: image %#x + trailer %#x exceeds the slot size %#x", ErrSlotTooSmall, size, p.trailerSize, p.o.SlotSize)
	}
	return nil
}
