package espimg

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"io"
	"math/big"

	"trustforge/internal/usererr"
)

// Sign signs image for Secure Boot v2 with each of signers (one to three
// RSA-3072 or P-256 keys, in the order their blocks are written) and
// returns the signed image: image padded with 0xFF to a 4 KiB boundary,
// then a 4 KiB signature sector holding the blocks and 0xFF after them.
//
// When image is already signed (its last sector is a signature sector
// following a 4 KiB aligned image), the new blocks are appended to the
// blocks already there, as `espsecure sign_data --append_signatures` does;
// a sector holds at most three (ErrTooManySignatures).
//
// image need not be an app image: bootloaders and raw data are signed the
// same way. rand is the source of PSS salts and ECDSA nonces (crypto/rand's
// Reader).
func Sign(rand io.Reader, image []byte, signers ...crypto.Signer) ([]byte, error) {
	if len(signers) == 0 {
		return nil, usererr.Errorf("", "%w: no signing key", ErrKey)
	}
	body, blocks := image, [][]byte(nil)
	if b, sector, err := splitSigned(image); err == nil {
		body = b
		blocks, err = validBlocks(sector)
		if err != nil {
			return nil, err
		}
	}
	if len(blocks)+len(signers) > MaxSigBlocks {
		return nil, usererr.Errorf("", "%w: %d already there, %d more asked", ErrTooManySignatures, len(blocks), len(signers))
	}
	padded := padTo(body, SectorSize)
	digest := sha256.Sum256(padded)
	for i, s := range signers {
		blk, err := signBlock(rand, digest[:], s)
		if err != nil {
			return nil, usererr.Errorf("espimg", "signing with key %d: %w", i+1, err)
		}
		blocks = append(blocks, blk)
	}
	out := make([]byte, 0, len(padded)+SectorSize)
	out = append(out, padded...)
	sector := bytes.Repeat([]byte{0xFF}, SectorSize)
	for i, b := range blocks {
		copy(sector[i*SigBlockSize:], b)
	}
	return append(out, sector...), nil
}

// padTo pads b with 0xFF (erased flash) to a multiple of n.
func padTo(b []byte, n int) []byte {
	out := append([]byte(nil), b...)
	for len(out)%n != 0 {
		out = append(out, 0xFF)
	}
	return out
}

// signBlock makes one signature block over digest.
func signBlock(rand io.Reader, digest []byte, s crypto.Signer) ([]byte, error) {
	keyBytes, scheme, err := publicKeyBytes(s.Public())
	if err != nil {
		return nil, err
	}
	switch scheme {
	case RSA3072:
		sig, err := s.Sign(rand, digest, &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256})
		if err != nil {
			return nil, err
		}
		reverse(sig)
		return marshalBlock(scheme, digest, keyBytes, sig), nil
	default:
		der, err := s.Sign(rand, digest, crypto.SHA256)
		if err != nil {
			return nil, err
		}
		var rs struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(der, &rs); err != nil {
			return nil, usererr.Errorf("", "ECDSA signer returned a malformed signature: %w", err)
		}
		sig := append(le(rs.R, 32), le(rs.S, 32)...)
		return marshalBlock(scheme, digest, keyBytes, sig), nil
	}
}

// splitSigned splits a signed image into the signed body and its signature
// sector: the image must be 4 KiB aligned and its last sector must start
// with a signature block's magic.
func splitSigned(b []byte) (body, sector []byte, err error) {
	if len(b) < 2*SectorSize || len(b)%SectorSize != 0 {
		return nil, nil, usererr.Errorf("", "%w: a signed image is a whole number of 4 KiB sectors, this is %d bytes", ErrUnsigned, len(b))
	}
	body, sector = b[:len(b)-SectorSize], b[len(b)-SectorSize:]
	if sector[0] != SigBlockMagic {
		return nil, nil, usererr.Errorf("", "%w: the last sector does not start with a signature block", ErrUnsigned)
	}
	return body, sector, nil
}

// validBlocks returns the raw blocks at the start of a signature sector,
// stopping at the first slot that does not start with the magic byte. A
// block with the magic byte and a bad CRC is an error.
func validBlocks(sector []byte) ([][]byte, error) {
	var out [][]byte
	for i := 0; i < MaxSigBlocks; i++ {
		b := sector[i*SigBlockSize : (i+1)*SigBlockSize]
		if b[0] != SigBlockMagic {
			break
		}
		if _, err := ParseSigBlock(b); err != nil {
			return nil, usererr.Errorf("", "signature block %d: %w", i, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// Signatures returns the signature blocks of a signed image, in order,
// checked for magic, version, CRC32 and key encoding but not verified.
func Signatures(signed []byte) ([]*SigBlock, error) {
	_, sector, err := splitSigned(signed)
	if err != nil {
		return nil, err
	}
	raw, err := validBlocks(sector)
	if err != nil {
		return nil, err
	}
	out := make([]*SigBlock, len(raw))
	for i, b := range raw {
		out[i], _ = ParseSigBlock(b)
	}
	return out, nil
}

// VerifyOptions says which keys Verify trusts.
type VerifyOptions struct {
	// Digests are trusted key digests, as in the eFuse key blocks (see
	// KeyDigest). Revoked slots are simply left out.
	Digests [][32]byte
	// Keys are trusted public keys (*rsa.PublicKey or *ecdsa.PublicKey);
	// each is trusted through its digest.
	Keys []any
	// Schemes limits the accepted schemes (nil: both). A chip's are
	// Chip.SignatureSchemes.
	Schemes []Scheme
}

// Verify checks a signed image as the bootloader does: some signature
// block whose key digest is trusted must carry the SHA-256 of the image
// before the signature sector and a signature over it that verifies. It
// returns that block. Errors wrap ErrUnsigned, ErrBadSignature (a trusted
// key's block is damaged or its signature fails), ErrUntrustedKey (the
// blocks are fine but no key is trusted) or ErrKey.
func Verify(signed []byte, opts VerifyOptions) (*SigBlock, error) {
	trusted := append([][32]byte(nil), opts.Digests...)
	for _, k := range opts.Keys {
		d, err := KeyDigest(k)
		if err != nil {
			return nil, err
		}
		trusted = append(trusted, d)
	}
	body, sector, err := splitSigned(signed)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(body)
	var firstErr error
	for i := 0; i < MaxSigBlocks; i++ {
		raw := sector[i*SigBlockSize : (i+1)*SigBlockSize]
		if raw[0] != SigBlockMagic {
			break
		}
		blk, err := ParseSigBlock(raw)
		if err != nil {
			if firstErr == nil {
				firstErr = usererr.Errorf("", "signature block %d: %w", i, err)
			}
			continue
		}
		kd := blk.KeyDigest()
		if !containsDigest(trusted, kd) {
			continue
		}
		if !schemeAllowed(opts.Schemes, blk.Scheme) {
			firstErr = usererr.Errorf("", "%w: block %d uses %v, which this chip does not accept", ErrBadSignature, i, blk.Scheme)
			continue
		}
		if blk.ImageDigest != digest {
			firstErr = usererr.Errorf("", "%w: block %d signs image digest %x, the image's is %x", ErrBadSignature, i, blk.ImageDigest, digest)
			continue
		}
		if err := blk.verify(digest[:]); err != nil {
			firstErr = usererr.Errorf("", "block %d: %w", i, err)
			continue
		}
		return blk, nil
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, usererr.Errorf("", "%w: no signature block's key digest is among the %d trusted", ErrUntrustedKey, len(trusted))
}

// VerifyWith checks that the signed image carries a valid signature by this
// one public key, as `espsecure verify_signature --version 2 --keyfile`
// does.
func VerifyWith(signed []byte, pub any) (*SigBlock, error) {
	return Verify(signed, VerifyOptions{Keys: []any{pub}})
}

func containsDigest(list [][32]byte, d [32]byte) bool {
	for _, x := range list {
		if x == d {
			return true
		}
	}
	return false
}

func schemeAllowed(list []Scheme, s Scheme) bool {
	if len(list) == 0 {
		return true
	}
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
