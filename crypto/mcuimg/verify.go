package mcuimg

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"fmt"
	"hash"
	"strings"

	"trustforge/crypto/keys"
	"trustforge/internal/usererr"
)

// VerifyOptions say what Verify checks.
type VerifyOptions struct {
	// Keys are the trusted signing keys. The image must carry a signature
	// that verifies under one of them. Empty means hash only: the image hash
	// is checked and signatures are not, as a bootloader built without
	// signature support does.
	Keys []*keys.PublicKey
	// DecryptionKey decrypts an encrypted payload before hashing, as a
	// bootloader does for the secondary slot. Nil hashes the payload as
	// stored, which is right for an image marked encrypted but made with
	// imgtool --clear (and for a decrypted image in the primary slot).
	DecryptionKey *keys.PrivateKey
}

// Verification is what Verify established.
type Verification struct {
	HashType TLVType // SHA256, SHA384 or SHA512
	Hash     []byte  // the verified image hash
	// Key is the trusted key the signature verified under; nil in hash-only mode.
	Key *keys.PublicKey
	// Signature is the verified signature's TLV type; zero in hash-only mode.
	Signature TLVType
	// Pure reports an Ed25519 signature over the image itself (SIG_PURE).
	Pure bool
	// Decrypted reports that the payload was decrypted before hashing.
	Decrypted bool
}

// Verify checks the image hash and, when opts.Keys are given, that one of
// them signed the image. It also checks that the unprotected TLV area holds
// only what MCUboot allows there (hashes, keys, signatures, wrapped image
// keys), so that no value a caller trusts can be changed without breaking
// the signature.
func (img *Image) Verify(opts VerifyOptions) (*Verification, error) {
	for _, t := range img.Unprotected.TLVs {
		if !t.Type.allowedUnprotected() {
			return nil, usererr.Errorf("", "%w: %v at %#x must be in the protected TLV area", ErrBadTLV, t.Type, t.Offset)
		}
	}
	hashType, want, err := img.hashTLV()
	if err != nil {
		return nil, err
	}
	v := &Verification{HashType: hashType}
	var got []byte
	if opts.DecryptionKey != nil && img.Encrypted() {
		got, err = img.plaintextHash(hashType, opts.DecryptionKey)
		if err != nil {
			return nil, err
		}
		v.Decrypted = true
	} else {
		h := newHash(hashType)
		h.Write(img.HashedRegion())
		got = h.Sum(nil)
	}
	if subtle.ConstantTimeCompare(got, want) != 1 {
		if img.Encrypted() && opts.DecryptionKey == nil {
			return nil, usererr.Errorf("", "%w: %w; the hash covers the plaintext, so give the decryption key", ErrHashMismatch, ErrEncrypted)
		}
		return nil, usererr.Errorf("", "%w: computed %v %x, image says %x", ErrHashMismatch, hashType.Name(), got, want)
	}
	v.Hash = want
	if len(opts.Keys) == 0 {
		return v, nil
	}
	if err := img.verifySignature(v, opts); err != nil {
		return nil, err
	}
	return v, nil
}

// hashTLV returns the image's one hash TLV.
func (img *Image) hashTLV() (TLVType, []byte, error) {
	var typ TLVType
	var val []byte
	for _, t := range img.Unprotected.TLVs {
		if !t.Type.IsHash() {
			continue
		}
		if val != nil {
			return 0, nil, usererr.Errorf("", "%w: second hash TLV %v at %#x", ErrBadTLV, t.Type, t.Offset)
		}
		typ, val = t.Type, t.Value
		if len(val) != hashSize(typ) {
			return 0, nil, usererr.Errorf("", "%w: %v TLV at %#x has %d bytes (want %d)", ErrBadTLV, typ, t.Offset, len(val), hashSize(typ))
		}
	}
	if val == nil {
		return 0, nil, ErrNoHash
	}
	return typ, val, nil
}

// plaintextHash hashes the hashed region with the payload decrypted,
// streaming the plaintext through a small buffer.
func (img *Image) plaintextHash(hashType TLVType, priv *keys.PrivateKey) ([]byte, error) {
	key, err := img.UnwrapKey(priv)
	if err != nil {
		return nil, err
	}
	s, err := newCTR(key)
	if err != nil {
		return nil, err
	}
	h := newHash(hashType)
	start := int(img.Header.HeaderSize)
	h.Write(img.data[:start])
	if err := xorCopy(h, s, img.Payload()); err != nil {
		return nil, err
	}
	h.Write(img.data[start+int(img.Header.ImageSize) : img.hashedLen()])
	return h.Sum(nil), nil
}

// verifySignature walks the unprotected TLVs as MCUboot does: a KEYHASH or
// PUBKEY TLV names the key of the signature TLV that follows it.
func (img *Image) verifySignature(v *Verification, opts VerifyOptions) error {
	pure := false
	if t, ok := img.Unprotected.Find(TLVSigPure); ok {
		if len(t.Value) != 1 || t.Value[0] != 1 {
			return usererr.Errorf("", "%w: SIG_PURE TLV at %#x must be the single byte 0x01", ErrBadTLV, t.Offset)
		}
		pure = true
	}
	var (
		named   []*keys.PublicKey // trusted keys the last key TLV names
		keyTLV  *TLV
		sigs    int
		signers []string
		badSig  error
	)
	for i := range img.Unprotected.TLVs {
		t := img.Unprotected.TLVs[i]
		switch {
		case t.Type == TLVKeyHash || t.Type == TLVPubKey:
			keyTLV = &img.Unprotected.TLVs[i]
			named = img.matchKeys(t, opts.Keys)
		case t.Type.IsSignature():
			sigs++
			if keyTLV == nil {
				// As in MCUboot, a signature counts only after a key TLV.
				continue
			}
			signers = append(signers, describeKeyTLV(*keyTLV))
			for _, k := range named {
				if !sigMatchesKey(t.Type, k) {
					badSig = usererr.Errorf("", "%w: %s key cannot check a %v signature", ErrBadSignature, k.Algorithm(), t.Type)
					continue
				}
				if err := img.checkSignature(t, k, v.Hash, pure); err != nil {
					badSig = err
					continue
				}
				v.Key, v.Signature, v.Pure = k, t.Type, pure
				return nil
			}
			keyTLV, named = nil, nil
		}
	}
	switch {
	case badSig != nil:
		return badSig
	case sigs == 0:
		return ErrNoSignature
	case len(signers) == 0:
		return usererr.Errorf("", "%w: no KEYHASH or PUBKEY TLV names the signing key", ErrKeyMismatch)
	}
	return usererr.Errorf("", "%w: signed by %s; trusted: %s", ErrKeyMismatch, strings.Join(signers, ", "), describeKeys(opts.Keys))
}

// matchKeys returns the trusted keys a KEYHASH or PUBKEY TLV names.
func (img *Image) matchKeys(t TLV, trusted []*keys.PublicKey) []*keys.PublicKey {
	var out []*keys.PublicKey
	for _, k := range trusted {
		spki := k.SPKI()
		switch t.Type {
		case TLVPubKey:
			if subtle.ConstantTimeCompare(spki, t.Value) == 1 {
				out = append(out, k)
			}
		case TLVKeyHash:
			var typ TLVType
			switch len(t.Value) {
			case sha256.Size:
				typ = TLVSHA256
			case sha512.Size384:
				typ = TLVSHA384
			case sha512.Size:
				typ = TLVSHA512
			default:
				continue
			}
			h := newHash(typ)
			h.Write(spki)
			if subtle.ConstantTimeCompare(h.Sum(nil), t.Value) == 1 {
				out = append(out, k)
			}
		}
	}
	return out
}

func sigMatchesKey(t TLVType, k *keys.PublicKey) bool {
	switch t {
	case TLVECDSASig:
		return k.Algorithm() == keys.ECDSAP256
	case TLVEd25519:
		return k.Algorithm() == keys.Ed25519
	}
	return false
}

// checkSignature verifies one signature TLV under k: ECDSA over the image
// hash, Ed25519 over the image hash (the hash is the message), or with
// SIG_PURE Ed25519 over the hashed region itself.
func (img *Image) checkSignature(t TLV, k *keys.PublicKey, digest []byte, pure bool) error {
	ok := false
	switch pub := k.Crypto().(type) {
	case *ecdsa.PublicKey:
		if pure {
			return usererr.Errorf("", "%w: SIG_PURE is only defined for Ed25519", ErrUnsupported)
		}
		ok = ecdsa.VerifyASN1(pub, digest, t.Value)
	case ed25519.PublicKey:
		if len(t.Value) != ed25519.SignatureSize {
			return usererr.Errorf("", "%w: ED25519 TLV at %#x has %d bytes (want %d)", ErrBadSignature, t.Offset, len(t.Value), ed25519.SignatureSize)
		}
		msg := digest
		if pure {
			if img.Encrypted() {
				return usererr.Errorf("", "%w: SIG_PURE signatures of encrypted images", ErrUnsupported)
			}
			msg = img.HashedRegion()
		}
		ok = ed25519.Verify(pub, msg, t.Value)
	}
	if !ok {
		return usererr.Errorf("", "%w: %v at %#x does not verify under %v", ErrBadSignature, t.Type, t.Offset, k)
	}
	return nil
}

func describeKeyTLV(t TLV) string {
	if t.Type == TLVPubKey {
		if k, err := keys.ParseSPKI(t.Value); err == nil {
			return k.String()
		}
		return "an unreadable PUBKEY"
	}
	n := min(len(t.Value), 8)
	return fmt.Sprintf("key hash %x…", t.Value[:n])
}

func describeKeys(ks []*keys.PublicKey) string {
	s := ""
	for i, k := range ks {
		if i > 0 {
			s += ", "
		}
		s += k.String()
	}
	return s
}

func hashSize(t TLVType) int {
	switch t {
	case TLVSHA256:
		return sha256.Size
	case TLVSHA384:
		return sha512.Size384
	case TLVSHA512:
		return sha512.Size
	}
	return 0
}

func newHash(t TLVType) hash.Hash {
	switch t {
	case TLVSHA384:
		return sha512.New384()
	case TLVSHA512:
		return sha512.New()
	}
	return sha256.New()
}
