package serial

import (
	"encoding/base64"

	"trustforge/internal/usererr"
)

// Frame markers and limits of the SMP serial framing.
const (
	// MaxLine is the longest frame line in bytes, marker and '\n' included.
	MaxLine = 127

	// lineChars is how many base64 characters fit on one line.
	lineChars = MaxLine - 3

	// MaxPacket is the largest SMP packet a frame can carry: the length
	// field is 16 bits and counts the 2-byte CRC.
	MaxPacket = 0xffff - 2
)

var (
	startMarker = [2]byte{0x06, 0x09}
	contMarker  = [2]byte{0x04, 0x14}
)

// ErrTooLarge is returned when a packet does not fit the 16-bit length field.
var ErrTooLarge = usererr.New("serial", "packet too large for a frame")

// AppendFrame appends the serial frame of pkt to dst and returns the
// extended slice: the base64 of length, packet and CRC, cut into lines of at
// most MaxLine bytes, the first starting 06 09 and the others 04 14.
func AppendFrame(dst, pkt []byte) ([]byte, error) {
	if len(pkt) > MaxPacket {
		return dst, usererr.Errorf("", "%w: %d bytes, limit %d", ErrTooLarge, len(pkt), MaxPacket)
	}
	raw := make([]byte, 0, len(pkt)+4)
	raw = append(raw, byte((len(pkt)+2)>>8), byte(len(pkt)+2))
	raw = append(raw, pkt...)
	crc := CRC16(pkt)
	raw = append(raw, byte(crc>>8), byte(crc))

	text := base64.StdEncoding.AppendEncode(nil, raw)
	marker := startMarker
	for len(text) > 0 {
		n := min(len(text), lineChars)
		dst = append(dst, marker[:]...)
		dst = append(dst, text[:n]...)
		dst = append(dst, '\n')
		text = text[n:]
		marker = contMarker
	}
	return dst, nil
}

// Encode returns the serial frame of pkt. See AppendFrame.
func Encode(pkt []byte) ([]byte, error) {
	return AppendFrame(nil, pkt)
}

// FrameLen returns the number of bytes the serial frame of an n-byte packet
// takes on the wire, markers and newlines included.
func FrameLen(n int) int {
	chars := (n + 4 + 2) / 3 * 4
	lines := (chars + lineChars - 1) / lineChars
	return chars + 3*lines
}
