package smp

import (
	"encoding/binary"
	"fmt"

	"trustforge/internal/usererr"
)

// Op is the operation of an SMP packet.
type Op uint8

// SMP operations.
const (
	OpRead     Op = 0
	OpReadRsp  Op = 1
	OpWrite    Op = 2
	OpWriteRsp Op = 3
)

// String returns the operation's name.
func (o Op) String() string {
	switch o {
	case OpRead:
		return "read"
	case OpReadRsp:
		return "read response"
	case OpWrite:
		return "write"
	case OpWriteRsp:
		return "write response"
	}
	return fmt.Sprintf("op %d", uint8(o))
}

// Group is an SMP command group.
type Group uint16

// Command groups.
const (
	GroupOS       Group = 0
	GroupImage    Group = 1
	GroupStat     Group = 2
	GroupSettings Group = 3
	GroupFS       Group = 8
	GroupShell    Group = 9
	GroupEnum     Group = 10
	GroupZephyr   Group = 63
	GroupPerUser  Group = 64
)

// String returns the group's name.
func (g Group) String() string {
	switch g {
	case GroupOS:
		return "OS"
	case GroupImage:
		return "image"
	case GroupStat:
		return "statistics"
	case GroupSettings:
		return "settings"
	case GroupFS:
		return "file system"
	case GroupShell:
		return "shell"
	case GroupEnum:
		return "enumeration"
	case GroupZephyr:
		return "Zephyr basic"
	}
	return fmt.Sprintf("group %d", uint16(g))
}

// HeaderLen is the size of an SMP header.
const HeaderLen = 8

// Header is the 8-byte big-endian header of an SMP packet.
type Header struct {
	Op      Op
	Version uint8 // 0 for SMP version 1, 1 for version 2
	Flags   uint8
	Len     uint16 // length of the CBOR body
	Group   Group
	Seq     uint8
	ID      uint8 // command within the group
}

// ErrBadPacket is returned for bytes that are not an SMP packet.
var ErrBadPacket = usererr.New("smp", "bad packet")

// AppendHeader appends the encoding of h to b.
func AppendHeader(b []byte, h Header) []byte {
	b = append(b, byte(h.Op&7)|(h.Version&3)<<3, h.Flags)
	b = binary.BigEndian.AppendUint16(b, h.Len)
	b = binary.BigEndian.AppendUint16(b, uint16(h.Group))
	return append(b, h.Seq, h.ID)
}

// ParseHeader decodes the header at the start of b.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, usererr.Errorf("", "%w: %d bytes, shorter than a header", ErrBadPacket, len(b))
	}
	return Header{
		Op:      Op(b[0] & 7),
		Version: b[0] >> 3 & 3,
		Flags:   b[1],
		Len:     binary.BigEndian.Uint16(b[2:]),
		Group:   Group(binary.BigEndian.Uint16(b[4:])),
		Seq:     b[6],
		ID:      b[7],
	}, nil
}

// EncodePacket returns the packet of header h and CBOR body, with h.Len set
// from body.
func EncodePacket(h Header, body []byte) ([]byte, error) {
	if len(body) > 0xffff {
		return nil, usererr.Errorf("", "%w: body of %d bytes does not fit the length field", ErrBadPacket, len(body))
	}
	h.Len = uint16(len(body))
	return append(AppendHeader(make([]byte, 0, HeaderLen+len(body)), h), body...), nil
}

// DecodePacket splits an SMP packet into its header and body, checking that
// the header's length matches.
func DecodePacket(p []byte) (Header, []byte, error) {
	h, err := ParseHeader(p)
	if err != nil {
		return h, nil, err
	}
	if int(h.Len) != len(p)-HeaderLen {
		return h, nil, usererr.Errorf("", "%w: header says %d body bytes, packet has %d", ErrBadPacket, h.Len, len(p)-HeaderLen)
	}
	if h.Op > OpWriteRsp {
		return h, nil, usererr.Errorf("", "%w: unknown op %d", ErrBadPacket, h.Op)
	}
	return h, p[HeaderLen:], nil
}
