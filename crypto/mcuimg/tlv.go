package mcuimg

import (
	"fmt"
	"sync"

	"trustforge/internal/usererr"
)

// TLVType is the type of a TLV record.
type TLVType uint16

// TLV types. Names follow MCUboot's image.h.
const (
	TLVKeyHash         TLVType = 0x01 // hash of the signing key's SPKI
	TLVPubKey          TLVType = 0x02 // the signing key's SPKI
	TLVKeyID           TLVType = 0x03
	TLVSHA256          TLVType = 0x10
	TLVSHA384          TLVType = 0x11
	TLVSHA512          TLVType = 0x12
	TLVRSA2048         TLVType = 0x20
	TLVECDSASig        TLVType = 0x22 // ASN.1 ECDSA signature of the image hash
	TLVRSA3072         TLVType = 0x23
	TLVEd25519         TLVType = 0x24 // Ed25519 signature of the image hash (or, with SIG_PURE, of the image)
	TLVSigPure         TLVType = 0x25 // one byte 0x01: the signature is over the image itself
	TLVEncRSA2048      TLVType = 0x30
	TLVEncKW           TLVType = 0x31
	TLVEncEC256        TLVType = 0x32 // ECIES-P256 wrapped image key
	TLVEncX25519       TLVType = 0x33 // ECIES-X25519 wrapped image key
	TLVDependency      TLVType = 0x40
	TLVSecCnt          TLVType = 0x50
	TLVBootRecord      TLVType = 0x60
	TLVDecompSize      TLVType = 0x70
	TLVDecompSHA       TLVType = 0x71
	TLVDecompSignature TLVType = 0x72
	TLVCompDecSize     TLVType = 0x73

	// TLVVendorMin and TLVVendorMax bound the types left to vendors and
	// users: imgtool's --custom-tlv takes these.
	TLVVendorMin TLVType = 0x00a0
	TLVVendorMax TLVType = 0xfffe
)

// TLV info magics: the protected area's, then the unprotected area's.
const (
	ProtectedInfoMagic   = 0x6908
	UnprotectedInfoMagic = 0x6907
)

const (
	tlvInfoSize   = 4
	tlvHeaderSize = 4
)

// tlvNames is built on first use, not when the console starts.
var tlvNames = sync.OnceValue(func() map[TLVType]string {
	return map[TLVType]string{
		TLVKeyHash:         "KEYHASH",
		TLVPubKey:          "PUBKEY",
		TLVKeyID:           "KEYID",
		TLVSHA256:          "SHA256",
		TLVSHA384:          "SHA384",
		TLVSHA512:          "SHA512",
		TLVRSA2048:         "RSA2048",
		TLVECDSASig:        "ECDSASIG",
		TLVRSA3072:         "RSA3072",
		TLVEd25519:         "ED25519",
		TLVSigPure:         "SIG_PURE",
		TLVEncRSA2048:      "ENCRSA2048",
		TLVEncKW:           "ENCKW",
		TLVEncEC256:        "ENCEC256",
		TLVEncX25519:       "ENCX25519",
		TLVDependency:      "DEPENDENCY",
		TLVSecCnt:          "SEC_CNT",
		TLVBootRecord:      "BOOT_RECORD",
		TLVDecompSize:      "DECOMP_SIZE",
		TLVDecompSHA:       "DECOMP_SHA",
		TLVDecompSignature: "DECOMP_SIGNATURE",
		TLVCompDecSize:     "COMP_DEC_SIZE",
	}
})

// Name returns the type's name as imgtool's dumpinfo prints it ("SHA256",
// "ECDSASIG"), or "UNKNOWN".
func (t TLVType) Name() string {
	if n, ok := tlvNames()[t]; ok {
		return n
	}
	return "UNKNOWN"
}

// String formats the type as "SHA256 (0x10)".
func (t TLVType) String() string { return fmt.Sprintf("%s (%#x)", t.Name(), uint16(t)) }

// IsHash reports whether the type is an image hash TLV.
func (t TLVType) IsHash() bool { return t == TLVSHA256 || t == TLVSHA384 || t == TLVSHA512 }

// IsSignature reports whether the type is a signature TLV.
func (t TLVType) IsSignature() bool {
	return t == TLVECDSASig || t == TLVEd25519 || t == TLVRSA2048 || t == TLVRSA3072
}

// IsEncryptionKey reports whether the type carries a wrapped image key.
func (t TLVType) IsEncryptionKey() bool {
	return t == TLVEncRSA2048 || t == TLVEncKW || t == TLVEncEC256 || t == TLVEncX25519
}

// IsVendor reports whether the type is in the vendor range 0xa0–0xfffe.
func (t TLVType) IsVendor() bool { return t >= TLVVendorMin && t <= TLVVendorMax }

// allowedUnprotected reports whether a TLV of this type may sit in the
// unprotected area, which the signature does not cover. The list is
// MCUboot's TLV allow list.
func (t TLVType) allowedUnprotected() bool {
	return t == TLVKeyHash || t == TLVPubKey || t == TLVKeyID || t.IsHash() ||
		t.IsSignature() || t == TLVSigPure || t.IsEncryptionKey()
}

// TLV is one type-length-value record.
type TLV struct {
	Type   TLVType
	Value  []byte
	Offset int // offset of the record's 4-byte header within the image
}

// TLVArea is a decoded TLV area: its info header and its records.
type TLVArea struct {
	Magic  uint16 // ProtectedInfoMagic or UnprotectedInfoMagic
	Total  uint16 // size of the area, the 4-byte info included
	Offset int    // offset of the info within the image
	TLVs   []TLV
}

// Find returns the first TLV of type t.
func (a *TLVArea) Find(t TLVType) (TLV, bool) {
	for _, v := range a.TLVs {
		if v.Type == t {
			return v, true
		}
	}
	return TLV{}, false
}

// parseTLVArea decodes the TLV area starting at off in b.
func parseTLVArea(b []byte, off int, magic uint16, name string) (TLVArea, error) {
	if off+tlvInfoSize > len(b) {
		return TLVArea{}, usererr.Errorf("", "%w: %s TLV info at %#x needs %d bytes, image ends at %#x", ErrTruncated, name, off, tlvInfoSize, len(b))
	}
	a := TLVArea{Magic: le.Uint16(b[off:]), Total: le.Uint16(b[off+2:]), Offset: off}
	if a.Magic != magic {
		return a, usererr.Errorf("", "%w: %s TLV info magic at %#x is %#04x (want %#04x)", ErrBadTLV, name, off, a.Magic, magic)
	}
	if a.Total < tlvInfoSize {
		return a, usererr.Errorf("", "%w: %s TLV area size %#x is below the %d-byte info", ErrBadTLV, name, a.Total, tlvInfoSize)
	}
	end := off + int(a.Total)
	if end > len(b) {
		return a, usererr.Errorf("", "%w: %s TLV area at %#x claims %#x bytes, only %#x remain", ErrTruncated, name, off, a.Total, len(b)-off)
	}
	p := off + tlvInfoSize
	for p < end {
		if p+tlvHeaderSize > end {
			return a, usererr.Errorf("", "%w: %s TLV at %#x: %d stray bytes at the end of the area", ErrBadTLV, name, p, end-p)
		}
		t := TLVType(le.Uint16(b[p:]))
		n := int(le.Uint16(b[p+2:]))
		if p+tlvHeaderSize+n > end {
			return a, usererr.Errorf("", "%w: %s TLV %v at %#x: length %#x runs %#x bytes past the end of the area", ErrBadTLV, name, t, p, n, p+tlvHeaderSize+n-end)
		}
		a.TLVs = append(a.TLVs, TLV{Type: t, Value: b[p+tlvHeaderSize : p+tlvHeaderSize+n : p+tlvHeaderSize+n], Offset: p})
		p += tlvHeaderSize + n
	}
	return a, nil
}

// encodeTLVArea returns the encoded area, or nil when tlvs is empty (an empty
// area is left out of an image).
func encodeTLVArea(magic uint16, tlvs []TLV) ([]byte, error) {
	if len(tlvs) == 0 {
		return nil, nil
	}
	total := tlvInfoSize
	for _, t := range tlvs {
		if len(t.Value) > 0xffff {
			return nil, usererr.Errorf("", "%w: TLV %v value of %d bytes exceeds 65535", ErrInvalidOption, t.Type, len(t.Value))
		}
		total += tlvHeaderSize + len(t.Value)
	}
	if total > 0xffff {
		return nil, usererr.Errorf("", "%w: TLV area of %d bytes exceeds 65535", ErrInvalidOption, total)
	}
	b := make([]byte, 0, total)
	b = le.AppendUint16(b, magic)
	b = le.AppendUint16(b, uint16(total))
	for _, t := range tlvs {
		b = le.AppendUint16(b, uint16(t.Type))
		b = le.AppendUint16(b, uint16(len(t.Value)))
		b = append(b, t.Value...)
	}
	return b, nil
}
