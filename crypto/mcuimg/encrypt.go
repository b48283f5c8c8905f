package mcuimg

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"io"

	"trustforge/crypto/keys"
	"trustforge/internal/usererr"
)

// eciesInfo is the HKDF info string of MCUboot's ECIES key wrapping, version 1.
const eciesInfo = "MCUBoot_ECIES_v1"

const (
	x25519PointSize = 32
	p256PointSize   = 65 // uncompressed
	eciesTagSize    = sha256.Size
)

// keyLen returns the AES key length the header flags select.
func (h Header) keyLen() (int, error) {
	switch {
	case h.Flags&FlagEncryptedAES128 != 0:
		return 16, nil
	case h.Flags&FlagEncryptedAES256 != 0:
		return 32, nil
	}
	return 0, ErrNotEncrypted
}

// encTLVType returns the ENC TLV type for an encryption key's algorithm.
func encTLVType(alg keys.Algorithm) (TLVType, error) {
	switch alg {
	case keys.X25519:
		return TLVEncX25519, nil
	case keys.ECDSAP256:
		return TLVEncEC256, nil
	}
	return 0, usererr.Errorf("", "%w: %s keys cannot encrypt images (want x25519 or ecdsa-p256)", ErrUnsupported, alg)
}

// wrapKey wraps the image key aesKey to the device's public key, returning
// the ENC TLV: ephemeral public key ‖ HMAC tag ‖ wrapped key.
func wrapKey(rand io.Reader, to *keys.PublicKey, aesKey []byte) (TLV, error) {
	typ, err := encTLVType(to.Algorithm())
	if err != nil {
		return TLV{}, err
	}
	pub, err := to.ECDH()
	if err != nil {
		return TLV{}, usererr.Errorf("mcuimg", "encryption key: %w", err)
	}
	eph, err := pub.Curve().GenerateKey(rand)
	if err != nil {
		return TLV{}, usererr.Errorf("mcuimg", "ephemeral key: %w", err)
	}
	shared, err := eph.ECDH(pub)
	if err != nil {
		return TLV{}, usererr.Errorf("mcuimg", "key agreement: %w", err)
	}
	aesKEK, macKey, err := deriveWrapKeys(shared, len(aesKey), len(aesKey))
	if err != nil {
		return TLV{}, err
	}
	wrapped := make([]byte, len(aesKey))
	if err := xorCTR(aesKEK, wrapped, aesKey); err != nil {
		return TLV{}, err
	}
	mac := hmac.New(sha256.New, macKey)
	mac.Write(wrapped)
	v := append(eph.PublicKey().Bytes(), mac.Sum(nil)...)
	v = append(v, wrapped...)
	return TLV{Type: typ, Value: v}, nil
}

// deriveWrapKeys expands the ECDH secret into the key-wrapping AES key (of
// kekLen bytes) and the HMAC-SHA256 key, as MCUboot does for an image key of
// keyLen bytes.
func deriveWrapKeys(shared []byte, kekLen, keyLen int) (kek, macKey []byte, err error) {
	okm, err := hkdf.Key(sha256.New, shared, nil, eciesInfo, kekLen+sha256.Size)
	if err != nil {
		return nil, nil, usererr.Errorf("mcuimg", "hkdf: %w", err)
	}
	return okm[:kekLen], okm[kekLen:], nil
}

// UnwrapKey returns the AES image key of an encrypted image, unwrapped with
// the device's encryption private key (X25519 for ENC_X25519 images, P-256
// for ENC_EC256 images). The key is secret: it decrypts the payload.
func (img *Image) UnwrapKey(priv *keys.PrivateKey) ([]byte, error) {
	keyLen, err := img.Header.keyLen()
	if err != nil {
		return nil, err
	}
	want, err := encTLVType(priv.Algorithm())
	if err != nil {
		return nil, err
	}
	var enc TLV
	found := false
	var others []TLVType
	for _, t := range img.Unprotected.TLVs {
		if t.Type == want {
			enc, found = t, true
			break
		}
		if t.Type.IsEncryptionKey() {
			others = append(others, t.Type)
		}
	}
	if !found {
		if len(others) > 0 {
			return nil, usererr.Errorf("", "%w: image key is wrapped as %v; a %s key cannot open it", ErrDecryptionKey, others[0], priv.Algorithm())
		}
		return nil, usererr.Errorf("", "%w: encrypted image has no %v TLV", ErrBadTLV, want)
	}
	ecdhPriv, err := priv.ECDH()
	if err != nil {
		return nil, usererr.Errorf("mcuimg", "decryption key: %w", err)
	}
	pointSize := x25519PointSize
	if want == TLVEncEC256 {
		pointSize = p256PointSize
	}
	if len(enc.Value) != pointSize+eciesTagSize+keyLen {
		return nil, usererr.Errorf("", "%w: %v TLV at %#x has %d bytes (want %d for AES-%d)", ErrBadTLV, want, enc.Offset, len(enc.Value), pointSize+eciesTagSize+keyLen, keyLen*8)
	}
	ephBytes := enc.Value[:pointSize]
	tag := enc.Value[pointSize : pointSize+eciesTagSize]
	wrapped := enc.Value[pointSize+eciesTagSize:]
	eph, err := ecdhPriv.Curve().NewPublicKey(ephBytes)
	if err != nil {
		return nil, usererr.Errorf("", "%w: ephemeral public key in %v TLV: %v", ErrDecryptionKey, want, err)
	}
	shared, err := ecdhPriv.ECDH(eph)
	if err != nil {
		return nil, usererr.Errorf("", "%w: key agreement: %v", ErrDecryptionKey, err)
	}
	// MCUboot wraps an AES-256 image key with AES-256; imgtool releases
	// before that fix wrapped it with AES-128. The tag tells which was used.
	kekLens := []int{keyLen}
	if keyLen == 32 {
		kekLens = append(kekLens, 16)
	}
	for _, kekLen := range kekLens {
		kek, macKey, err := deriveWrapKeys(shared, kekLen, keyLen)
		if err != nil {
			return nil, err
		}
		mac := hmac.New(sha256.New, macKey)
		mac.Write(wrapped)
		if !hmac.Equal(mac.Sum(nil), tag) {
			continue
		}
		key := make([]byte, keyLen)
		if err := xorCTR(kek, key, wrapped); err != nil {
			return nil, err
		}
		return key, nil
	}
	return nil, usererr.Errorf("", "%w (%v TLV tag does not match)", ErrDecryptionKey, want)
}

// xorCTR applies AES-CTR with an all-zero IV.
func xorCTR(key, dst, src []byte) error {
	s, err := newCTR(key)
	if err != nil {
		return err
	}
	s.XORKeyStream(dst, src)
	return nil
}

// newCTR returns the AES-CTR keystream MCUboot uses for payloads and
// wrapped keys: all-zero IV, big-endian block counter.
func newCTR(key []byte) (cipher.Stream, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, usererr.Errorf("mcuimg", "aes: %w", err)
	}
	return cipher.NewCTR(block, make([]byte, aes.BlockSize)), nil
}

// DecryptPayload returns the plaintext payload of an encrypted image.
func (img *Image) DecryptPayload(priv *keys.PrivateKey) ([]byte, error) {
	key, err := img.UnwrapKey(priv)
	if err != nil {
		return nil, err
	}
	s, err := newCTR(key)
	if err != nil {
		return nil, err
	}
	p := img.Payload()
	out := make([]byte, len(p))
	s.XORKeyStream(out, p)
	return out, nil
}

// Decrypt returns a copy of the image proper with its payload decrypted.
// Header and TLVs are unchanged, so the result verifies like an image made
// with imgtool --clear: this is what a bootloader writes to the primary slot.
func (img *Image) Decrypt(priv *keys.PrivateKey) ([]byte, error) {
	key, err := img.UnwrapKey(priv)
	if err != nil {
		return nil, err
	}
	s, err := newCTR(key)
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), img.data...)
	start := int(img.Header.HeaderSize)
	p := out[start : start+int(img.Header.ImageSize)]
	s.XORKeyStream(p, p)
	return out, nil
}

// DecryptTo writes the image proper with its payload decrypted to w, holding
// no more than a small buffer of plaintext at a time.
func (img *Image) DecryptTo(w io.Writer, priv *keys.PrivateKey) error {
	key, err := img.UnwrapKey(priv)
	if err != nil {
		return err
	}
	s, err := newCTR(key)
	if err != nil {
		return err
	}
	start := int(img.Header.HeaderSize)
	if _, err := w.Write(img.data[:start]); err != nil {
		return usererr.Errorf("mcuimg", "write: %w", err)
	}
	if err := xorCopy(w, s, img.Payload()); err != nil {
		return err
	}
	if _, err := w.Write(img.data[start+int(img.Header.ImageSize):]); err != nil {
		return usererr.Errorf("mcuimg", "write: %w", err)
	}
	return nil
}

// chunkSize is the buffer size of streaming encryption and decryption.
const chunkSize = 64 << 10

// engineChunkSize is the piece signing hands an Engine other than Go.
const engineChunkSize = 1 << 20

// xorCopy writes src through the keystream s to w, a chunk at a time.
func xorCopy(w io.Writer, s cipher.Stream, src []byte) error {
	buf := make([]byte, min(chunkSize, len(src)))
	for len(src) > 0 {
		n := min(len(buf), len(src))
		s.XORKeyStream(buf[:n], src[:n])
		if _, err := w.Write(buf[:n]); err != nil {
			return usererr.Errorf("mcuimg", "write: %w", err)
		}
		src = src[n:]
	}
	return nil
}
