package mcuimg

import "trustforge/internal/usererr"

// Errors callers branch on. Returned errors wrap one of these with the
// details (offsets, sizes, TLV types) of what was wrong.
var (
	// ErrTruncated reports an image that ends before its header, payload or
	// TLV areas do.
	ErrTruncated = usererr.New("mcuimg", "image truncated")
	// ErrBadMagic reports a header that does not start with the MCUboot
	// image magic 0x96f3b83d.
	ErrBadMagic = usererr.New("mcuimg", "bad image magic")
	// ErrBadHeader reports header fields that cannot describe an image.
	ErrBadHeader = usererr.New("mcuimg", "bad image header")
	// ErrBadTLV reports a malformed TLV area: a wrong info magic, a length
	// that runs past the end of its area, a TLV in the wrong area.
	ErrBadTLV = usererr.New("mcuimg", "bad TLV area")
	// ErrTrailingData reports bytes after the TLV area that are neither
	// erased flash nor a slot trailer.
	ErrTrailingData = usererr.New("mcuimg", "trailing data after image")
	// ErrNoHash reports an image without a SHA256/SHA384/SHA512 TLV.
	ErrNoHash = usererr.New("mcuimg", "image has no hash TLV")
	// ErrHashMismatch reports an image whose contents do not match its hash TLV.
	ErrHashMismatch = usererr.New("mcuimg", "image hash does not match")
	// ErrNoSignature reports an image without any signature TLV.
	ErrNoSignature = usererr.New("mcuimg", "image is not signed")
	// ErrKeyMismatch reports an image signed, but not by any of the given keys.
	ErrKeyMismatch = usererr.New("mcuimg", "image is not signed by the given key")
	// ErrBadSignature reports a signature that does not verify under the key
	// the image names.
	ErrBadSignature = usererr.New("mcuimg", "bad signature")
	// ErrEncrypted reports an operation that needs the plaintext of an
	// encrypted image, made without a decryption key.
	ErrEncrypted = usererr.New("mcuimg", "image payload is encrypted")
	// ErrNotEncrypted reports a decryption request for a plaintext image.
	ErrNotEncrypted = usererr.New("mcuimg", "image is not encrypted")
	// ErrDecryptionKey reports a wrapped image key that does not open with
	// the given private key (wrong key, or a damaged ENC TLV).
	ErrDecryptionKey = usererr.New("mcuimg", "image key does not unwrap with this decryption key")
	// ErrUnsupported reports an algorithm or TLV kind trustforge does not handle.
	ErrUnsupported = usererr.New("mcuimg", "unsupported")
	// ErrSlotTooSmall reports an image that, with its trailer, does not fit
	// the slot.
	ErrSlotTooSmall = usererr.New("mcuimg", "image does not fit the slot")
	// ErrInvalidOption reports a SignOptions field or argument out of range.
	ErrInvalidOption = usererr.New("mcuimg", "invalid option")
)
