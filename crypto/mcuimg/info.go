package mcuimg

import (
	"encoding/hex"
	"fmt"
	"unicode/utf8"
)

// Info is a description of an image with the fields and names of imgtool
// dumpinfo's JSON output, plus decoded values. Marshalled with
// encoding/json, its imgtool fields compare equal to dumpinfo's.
type Info struct {
	Filename string      `json:"filename"`
	Header   InfoHeader  `json:"header"`
	TLVArea  InfoTLVArea `json:"tlv_area"`
	Trailer  InfoTrailer `json:"trailer"`
}

// InfoHeader describes the image header.
type InfoHeader struct {
	Magic            uint32   `json:"magic"`
	LoadAddr         uint32   `json:"load_addr"`
	HdrSize          uint16   `json:"hdr_size"`
	ProtectedTLVSize uint16   `json:"protected_tlv_size"`
	ImgSize          uint32   `json:"img_size"`
	Flags            uint32   `json:"flags"`
	Version          string   `json:"version"`
	FlagNames        []string `json:"flag_names"`
}

// InfoTLVArea describes both TLV areas; absent areas have empty headers.
type InfoTLVArea struct {
	ProtectedHeader InfoTLVHeader `json:"tlv_hdr_prot"`
	Protected       []InfoTLV     `json:"tlvs_prot"`
	Header          InfoTLVHeader `json:"tlv_hdr"`
	TLVs            []InfoTLV     `json:"tlvs"`
}

// InfoTLVHeader is a TLV area's info: magic and total size.
type InfoTLVHeader struct {
	Magic *uint16 `json:"magic,omitempty"`
	Total *uint16 `json:"tlv_tot,omitempty"`
}

// InfoTLV describes one TLV.
type InfoTLV struct {
	Type     uint16 `json:"type"`
	TypeName string `json:"type_name"`
	Len      int    `json:"len"`
	Data     string `json:"data"`              // hex
	Decoded  string `json:"decoded,omitempty"` // the value in words, where trustforge knows the type
	Offset   int    `json:"offset"`
}

// InfoTrailer describes a slot trailer; all fields are absent without one.
type InfoTrailer struct {
	Magic       string  `json:"magic,omitempty"` // hex
	ImageOK     *uint8  `json:"image_ok,omitempty"`
	CopyDone    *uint8  `json:"copy_done,omitempty"`
	SwapInfo    *uint8  `json:"swap_info,omitempty"`
	SwapSize    *uint32 `json:"swap_size,omitempty"`
	KeyFieldLen *int    `json:"key_field_len,omitempty"`
	MaxAlign    int     `json:"max_align,omitempty"`
}

// Info describes the image; filename is reported as given.
func (img *Image) Info(filename string) *Info {
	h := img.Header
	info := &Info{
		Filename: filename,
		Header: InfoHeader{
			Magic: h.Magic, LoadAddr: h.LoadAddr, HdrSize: h.HeaderSize,
			ProtectedTLVSize: h.ProtectedTLVSize, ImgSize: h.ImageSize,
			Flags: uint32(h.Flags), Version: h.Version.String(), FlagNames: h.Flags.Names(),
		},
		TLVArea: InfoTLVArea{Protected: []InfoTLV{}, TLVs: []InfoTLV{}},
	}
	if info.Header.FlagNames == nil {
		info.Header.FlagNames = []string{}
	}
	if a := img.Protected; a != nil {
		info.TLVArea.ProtectedHeader = InfoTLVHeader{Magic: &a.Magic, Total: &a.Total}
		for _, t := range a.TLVs {
			info.TLVArea.Protected = append(info.TLVArea.Protected, describeTLV(t))
		}
	}
	a := img.Unprotected
	info.TLVArea.Header = InfoTLVHeader{Magic: &a.Magic, Total: &a.Total}
	for _, t := range a.TLVs {
		info.TLVArea.TLVs = append(info.TLVArea.TLVs, describeTLV(t))
	}
	if t := img.Trailer; t != nil {
		tr := *t
		info.Trailer = InfoTrailer{
			Magic: hex.EncodeToString(tr.Magic[:]), ImageOK: &tr.ImageOK, CopyDone: &tr.CopyDone,
			SwapInfo: &tr.SwapInfo, SwapSize: &tr.SwapSize, MaxAlign: tr.MaxAlign,
		}
		if img.Encrypted() {
			n := 2 * alignUp(16, tr.MaxAlign)
			info.Trailer.KeyFieldLen = &n
		}
	}
	return info
}

func describeTLV(t TLV) InfoTLV {
	return InfoTLV{
		Type: uint16(t.Type), TypeName: t.Type.Name(), Len: len(t.Value),
		Data: hex.EncodeToString(t.Value), Decoded: decodeTLV(t), Offset: t.Offset,
	}
}

// decodeTLV puts the value of well-known TLVs in words.
func decodeTLV(t TLV) string {
	switch t.Type {
	case TLVSecCnt:
		if len(t.Value) == 4 {
			return fmt.Sprintf("security counter %d", le.Uint32(t.Value))
		}
	case TLVDependency:
		if d, err := unmarshalDependency(t.Value); err == nil {
			return fmt.Sprintf("needs image %d at version %s or newer", d.ImageID, d.Version)
		}
	case TLVSigPure:
		if len(t.Value) == 1 && t.Value[0] == 1 {
			return "signature covers the image itself"
		}
	case TLVPubKey:
		return "signing key (SubjectPublicKeyInfo)"
	case TLVKeyHash:
		return "hash of the signing key"
	case TLVEncX25519, TLVEncEC256:
		return "image key wrapped with ECIES"
	}
	if t.Type.IsHash() {
		return "image hash"
	}
	if t.Type.IsSignature() {
		return "signature"
	}
	if t.Type.IsVendor() && len(t.Value) > 0 && utf8.Valid(t.Value) && printable(t.Value) {
		return fmt.Sprintf("text %q", t.Value)
	}
	return ""
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}
