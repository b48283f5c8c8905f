package espimg

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/big"

	"trustforge/internal/usererr"
)

// Layout of the Secure Boot v2 signature sector and blocks.
const (
	// SectorSize is the flash sector: images are padded to it and the
	// signature sector is one.
	SectorSize = 4096
	// SigBlockSize is the size of one signature block.
	SigBlockSize = 1216
	// SigBlockMagic is the first byte of a signature block.
	SigBlockMagic = 0xE7
	// MaxSigBlocks is how many blocks a signature sector holds.
	MaxSigBlocks = 3

	versionRSA   = 0x02
	versionECDSA = 0x03
	crcLen       = 1196

	rsaBits     = 3072
	rsaLen      = rsaBits / 8
	offDigest   = 4
	offKey      = 36
	rsaKeyLen   = rsaLen + 4 + rsaLen + 4 // n, e, R, M'
	offRSASig   = offKey + rsaKeyLen      // 812
	curveP256   = 2
	ecKeyLen    = 1 + 64            // curve id, X, Y
	offECDSASig = offKey + ecKeyLen // 101
)

// Scheme is a Secure Boot v2 signature scheme.
type Scheme int

// The schemes Secure Boot v2 defines for 256-bit security and above.
const (
	RSA3072   Scheme = 1 // RSA-3072, RSA-PSS with SHA-256 (block version 2)
	ECDSAP256 Scheme = 2 // ECDSA over NIST P-256 with SHA-256 (block version 3)
)

// String returns the scheme as espsecure names it: "rsa3072" or "ecdsa256".
func (s Scheme) String() string {
	switch s {
	case RSA3072:
		return "rsa3072"
	case ECDSAP256:
		return "ecdsa256"
	}
	return fmt.Sprintf("scheme(%d)", int(s))
}

// SigBlock is one decoded signature block.
type SigBlock struct {
	Scheme      Scheme
	ImageDigest [32]byte
	// PublicKey is the key the block carries: *rsa.PublicKey or
	// *ecdsa.PublicKey. Trust it only through its digest.
	PublicKey any
	// KeyBytes are the block's key bytes the eFuse digest covers (776
	// bytes for RSA: n, e, R, M'; 65 for ECDSA: curve id, X, Y).
	KeyBytes []byte
	// Signature is the signature in the block's byte order.
	Signature []byte
}

// KeyDigest returns the SHA-256 of the block's key bytes: the digest that
// must be in an eFuse key block for the bootloader to trust the block.
func (b *SigBlock) KeyDigest() [32]byte { return sha256.Sum256(b.KeyBytes) }

// le returns x as n little-endian bytes.
func le(x *big.Int, n int) []byte {
	b := x.FillBytes(make([]byte, n))
	reverse(b)
	return b
}

// fromLE reads little-endian bytes as a number.
func fromLE(b []byte) *big.Int {
	c := append([]byte(nil), b...)
	reverse(c)
	return new(big.Int).SetBytes(c)
}

func reverse(b []byte) {
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
}

// rsaKeyBytes lays out an RSA-3072 key as a signature block carries it:
// modulus n, exponent e, R = 2^(2*3072) mod n and M' = -n^-1 mod 2^32, all
// little-endian. R and M' serve the chip's Montgomery multiplier.
func rsaKeyBytes(pub *rsa.PublicKey) ([]byte, error) {
	if pub.N.BitLen() != rsaBits {
		return nil, usererr.Errorf("", "%w: an RSA key for Secure Boot v2 has 3072 bits, this one %d", ErrKey, pub.N.BitLen())
	}
	if pub.E <= 0 || int64(pub.E) > 0xFFFFFFFF {
		return nil, usererr.Errorf("", "%w: RSA exponent %d", ErrKey, pub.E)
	}
	out := make([]byte, 0, rsaKeyLen)
	out = append(out, le(pub.N, rsaLen)...)
	out = binary.LittleEndian.AppendUint32(out, uint32(pub.E))
	r := new(big.Int).Lsh(big.NewInt(1), 2*rsaBits)
	r.Mod(r, pub.N)
	out = append(out, le(r, rsaLen)...)
	two32 := new(big.Int).Lsh(big.NewInt(1), 32)
	inv := new(big.Int).ModInverse(new(big.Int).Mod(pub.N, two32), two32)
	if inv == nil {
		return nil, usererr.Errorf("", "%w: RSA modulus is even", ErrKey)
	}
	m := new(big.Int).Sub(two32, inv)
	m.Mod(m, two32)
	out = binary.LittleEndian.AppendUint32(out, uint32(m.Uint64()))
	return out, nil
}

// ecKeyBytes lays out a P-256 key as a signature block carries it: the
// curve id, then X and Y little-endian.
func ecKeyBytes(pub *ecdsa.PublicKey) ([]byte, error) {
	if pub.Curve != elliptic.P256() {
		return nil, usererr.Errorf("", "%w: an ECDSA key for Secure Boot v2 here is on P-256, this one on %s", ErrKey, pub.Curve.Params().Name)
	}
	pt, err := pub.Bytes()
	if err != nil {
		return nil, usererr.Errorf("", "%w: %v", ErrKey, err)
	}
	out := []byte{curveP256}
	x, y := append([]byte(nil), pt[1:33]...), append([]byte(nil), pt[33:65]...)
	reverse(x)
	reverse(y)
	return append(append(out, x...), y...), nil
}

// ecdsaPublicKey builds a P-256 key from its coordinates, refusing points
// off the curve.
func ecdsaPublicKey(x, y *big.Int) (*ecdsa.PublicKey, error) {
	pt := make([]byte, 65)
	pt[0] = 4
	if x.BitLen() > 256 || y.BitLen() > 256 {
		return nil, usererr.Errorf("", "%w: the block's ECDSA key is not a P-256 point", ErrBadSignature)
	}
	x.FillBytes(pt[1:33])
	y.FillBytes(pt[33:65])
	pk, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pt)
	if err != nil {
		return nil, usererr.Errorf("", "%w: the block's ECDSA key is not a P-256 point", ErrBadSignature)
	}
	return pk, nil
}

// publicKeyBytes returns a public key's bytes in a signature block and its
// scheme.
func publicKeyBytes(pub any) ([]byte, Scheme, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		b, err := rsaKeyBytes(k)
		return b, RSA3072, err
	case *ecdsa.PublicKey:
		b, err := ecKeyBytes(k)
		return b, ECDSAP256, err
	}
	return nil, 0, usererr.Errorf("", "%w: %T is neither an RSA-3072 nor a P-256 key", ErrKey, pub)
}

// KeyDigest returns the SHA-256 of a public key's bytes in a signature
// block: what `espsecure digest_sbv2_public_key` writes and what goes into
// an eFuse key block whose purpose is SECURE_BOOT_DIGESTn.
func KeyDigest(pub any) ([32]byte, error) {
	b, _, err := publicKeyBytes(pub)
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(b), nil
}

// marshalBlock builds a complete 1216-byte block.
func marshalBlock(scheme Scheme, digest []byte, keyBytes, sig []byte) []byte {
	b := make([]byte, SigBlockSize)
	b[0] = SigBlockMagic
	b[1] = versionRSA
	if scheme == ECDSAP256 {
		b[1] = versionECDSA
	}
	copy(b[offDigest:], digest)
	copy(b[offKey:], keyBytes)
	copy(b[offKey+len(keyBytes):], sig)
	binary.LittleEndian.PutUint32(b[crcLen:], crc32.ChecksumIEEE(b[:crcLen]))
	return b
}

// ParseSigBlock decodes one 1216-byte signature block, checking its magic,
// version, CRC32 and key encoding. It does not check the signature.
func ParseSigBlock(b []byte) (*SigBlock, error) {
	if len(b) < SigBlockSize {
		return nil, usererr.Errorf("", "%w: signature block of %d bytes, want %d", ErrTruncated, len(b), SigBlockSize)
	}
	b = b[:SigBlockSize]
	if b[0] != SigBlockMagic {
		return nil, usererr.Errorf("", "%w: signature block magic is %#02x, not %#02x", ErrBadSignature, b[0], SigBlockMagic)
	}
	if got, want := binary.LittleEndian.Uint32(b[crcLen:]), crc32.ChecksumIEEE(b[:crcLen]); got != want {
		return nil, usererr.Errorf("", "%w: signature block CRC32 is %08x, contents give %08x", ErrBadSignature, got, want)
	}
	sb := &SigBlock{}
	copy(sb.ImageDigest[:], b[offDigest:offKey])
	switch b[1] {
	case versionRSA:
		sb.Scheme = RSA3072
		sb.KeyBytes = append([]byte(nil), b[offKey:offRSASig]...)
		n := fromLE(sb.KeyBytes[:rsaLen])
		e := binary.LittleEndian.Uint32(sb.KeyBytes[rsaLen:])
		if n.BitLen() != rsaBits || e < 3 || e%2 == 0 {
			return nil, usererr.Errorf("", "%w: the block's RSA key is not an RSA-3072 key", ErrBadSignature)
		}
		pub := &rsa.PublicKey{N: n, E: int(e)}
		want, err := rsaKeyBytes(pub)
		if err != nil || string(want) != string(sb.KeyBytes) {
			return nil, usererr.Errorf("", "%w: the block's pre-calculated R or M' does not belong to its modulus", ErrBadSignature)
		}
		sb.PublicKey = pub
		sb.Signature = append([]byte(nil), b[offRSASig:offRSASig+rsaLen]...)
	case versionECDSA:
		sb.Scheme = ECDSAP256
		sb.KeyBytes = append([]byte(nil), b[offKey:offECDSASig]...)
		if sb.KeyBytes[0] != curveP256 {
			return nil, usererr.Errorf("", "%w: ECDSA curve id %d (only 2, P-256, is supported)", ErrBadSignature, sb.KeyBytes[0])
		}
		x, y := fromLE(sb.KeyBytes[1:33]), fromLE(sb.KeyBytes[33:65])
		pk, err := ecdsaPublicKey(x, y)
		if err != nil {
			return nil, err
		}
		sb.PublicKey = pk
		sb.Signature = append([]byte(nil), b[offECDSASig:offECDSASig+64]...)
	default:
		return nil, usererr.Errorf("", "%w: signature block version %#02x (2 is RSA-PSS, 3 is ECDSA)", ErrBadSignature, b[1])
	}
	return sb, nil
}

const cryptoSHA256 = crypto.SHA256

// verify checks the block's signature over digest.
func (b *SigBlock) verify(digest []byte) error {
	switch k := b.PublicKey.(type) {
	case *rsa.PublicKey:
		sig := append([]byte(nil), b.Signature...)
		reverse(sig)
		if err := rsa.VerifyPSS(k, cryptoSHA256, digest, sig, &rsa.PSSOptions{SaltLength: 32, Hash: cryptoSHA256}); err != nil {
			return usererr.Errorf("", "%w: RSA-PSS signature does not verify", ErrBadSignature)
		}
	case *ecdsa.PublicKey:
		r, s := fromLE(b.Signature[:32]), fromLE(b.Signature[32:64])
		if !ecdsa.Verify(k, digest, r, s) {
			return usererr.Errorf("", "%w: ECDSA signature does not verify", ErrBadSignature)
		}
	}
	return nil
}
