package mcuimg

import (
	"crypto/rand"
	"io"

	"trustforge/crypto/keys"
	"trustforge/internal/usererr"
)

// EncryptFor encrypts a clear image to one device: img's header must ask
// for encryption (AES-128 or AES-256) while its payload is plaintext, as
// imgtool --clear writes it and Decrypt returns it. EncryptFor draws a
// fresh image key from rand (crypto/rand when nil), encrypts the payload
// with it and wraps it to to (X25519: ENC_X25519; P-256: ENC_EC256),
// replacing any wrapped key the image carried. Header, payload size and
// protected TLVs are unchanged, and the hash and signature cover the
// plaintext, so the result verifies under the same keys once decrypted:
// the same signed release can go to every board of a product, each copy
// readable by one board alone.
//
// It returns the image proper (no slot padding). An image whose payload
// does not hash to its hash TLV is refused with ErrHashMismatch: it is
// encrypted already, or damaged.
func (img *Image) EncryptFor(rnd io.Reader, to *keys.PublicKey) ([]byte, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	keyLen, err := img.Header.keyLen()
	if err != nil {
		return nil, usererr.Errorf("", "%w: sign the image with encryption (imgtool --clear) to encrypt it to devices", err)
	}
	if to == nil {
		return nil, usererr.Errorf("", "%w: no device key to encrypt to", ErrInvalidOption)
	}
	if _, err := img.Verify(VerifyOptions{}); err != nil {
		return nil, usererr.Errorf("mcuimg", "the image is not in the clear: %w", err)
	}
	aesKey := make([]byte, keyLen)
	if _, err := io.ReadFull(rnd, aesKey); err != nil {
		return nil, usererr.Errorf("mcuimg", "image key: %w", err)
	}
	enc, err := wrapKey(rnd, to, aesKey)
	if err != nil {
		return nil, err
	}
	var tlvs []TLV
	for _, t := range img.Unprotected.TLVs {
		if !t.Type.IsEncryptionKey() {
			tlvs = append(tlvs, t)
		}
	}
	tlvs = append(tlvs, enc)
	area, err := encodeTLVArea(UnprotectedInfoMagic, tlvs)
	if err != nil {
		return nil, err
	}
	head := img.Unprotected.Offset
	out := make([]byte, 0, head+len(area))
	out = append(out, img.data[:head]...)
	start := int(img.Header.HeaderSize)
	p := out[start : start+int(img.Header.ImageSize)]
	if err := xorCTR(aesKey, p, p); err != nil {
		return nil, err
	}
	return append(out, area...), nil
}
