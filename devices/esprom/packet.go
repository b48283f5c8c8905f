package esprom

import (
	"encoding/binary"
	"fmt"
	"sync"

	"trustforge/internal/usererr"
)

// Command codes of the ROM loader.
const (
	OpFlashBegin      = 0x02
	OpFlashData       = 0x03
	OpFlashEnd        = 0x04
	OpMemBegin        = 0x05
	OpMemEnd          = 0x06
	OpMemData         = 0x07
	OpSync            = 0x08
	OpWriteReg        = 0x09
	OpReadReg         = 0x0a
	OpSPISetParams    = 0x0b
	OpSPIAttach       = 0x0d
	OpChangeBaud      = 0x0f
	OpFlashDeflBegin  = 0x10
	OpFlashDeflData   = 0x11
	OpFlashDeflEnd    = 0x12
	OpSPIFlashMD5     = 0x13
	OpGetSecurityInfo = 0x14
)

// opNames is built on first use, not when the console starts.
var opNames = sync.OnceValue(func() map[byte]string {
	return map[byte]string{
		OpFlashBegin: "FLASH_BEGIN", OpFlashData: "FLASH_DATA", OpFlashEnd: "FLASH_END",
		OpMemBegin: "MEM_BEGIN", OpMemEnd: "MEM_END", OpMemData: "MEM_DATA", OpSync: "SYNC",
		OpWriteReg: "WRITE_REG", OpReadReg: "READ_REG", OpSPISetParams: "SPI_SET_PARAMS",
		OpSPIAttach: "SPI_ATTACH", OpChangeBaud: "CHANGE_BAUDRATE", OpFlashDeflBegin: "FLASH_DEFL_BEGIN",
		OpFlashDeflData: "FLASH_DEFL_DATA", OpFlashDeflEnd: "FLASH_DEFL_END", OpSPIFlashMD5: "SPI_FLASH_MD5",
		OpGetSecurityInfo: "GET_SECURITY_INFO",
	}
})

func opName(op byte) string {
	if n, ok := opNames()[op]; ok {
		return n
	}
	return fmt.Sprintf("command %#02x", op)
}

// ChecksumSeed starts the XOR checksum of a data command's payload.
const ChecksumSeed = 0xEF

// Checksum is the XOR checksum of the "data to write" of FLASH_DATA,
// FLASH_DEFL_DATA and MEM_DATA.
func Checksum(data []byte) uint32 {
	c := byte(ChecksumSeed)
	for _, b := range data {
		c ^= b
	}
	return uint32(c)
}

// Request is a decoded command packet.
type Request struct {
	Op       byte
	Checksum uint32
	Data     []byte
}

// MarshalRequest returns the unframed command packet.
func MarshalRequest(op byte, data []byte, checksum uint32) []byte {
	b := make([]byte, 8, 8+len(data))
	b[1] = op
	binary.LittleEndian.PutUint16(b[2:], uint16(len(data)))
	binary.LittleEndian.PutUint32(b[4:], checksum)
	return append(b, data...)
}

// ParseRequest decodes an unframed command packet.
func ParseRequest(p []byte) (Request, error) {
	if len(p) < 8 {
		return Request{}, usererr.Errorf("", "%w: command packet of %d bytes", ErrProtocol, len(p))
	}
	if p[0] != 0x00 {
		return Request{}, usererr.Errorf("", "%w: direction byte %#02x in a command", ErrProtocol, p[0])
	}
	n := int(binary.LittleEndian.Uint16(p[2:]))
	if n != len(p)-8 {
		return Request{}, usererr.Errorf("", "%w: size field %d, %d bytes of data", ErrProtocol, n, len(p)-8)
	}
	return Request{Op: p[1], Checksum: binary.LittleEndian.Uint32(p[4:]), Data: p[8:]}, nil
}

// Response is a decoded response packet.
type Response struct {
	Op    byte
	Value uint32
	// Data is the payload with the status bytes: the ROM of the ESP32 ends
	// it with four, later ROMs and the stub with two. Status is the first
	// status byte, Error the second.
	Data          []byte
	Status, Error byte
}

// MarshalResponse returns an unframed response packet; body must end with
// its status bytes.
func MarshalResponse(op byte, value uint32, body []byte) []byte {
	b := make([]byte, 8, 8+len(body))
	b[0] = 0x01
	b[1] = op
	binary.LittleEndian.PutUint16(b[2:], uint16(len(body)))
	binary.LittleEndian.PutUint32(b[4:], value)
	return append(b, body...)
}

// ParseResponse decodes an unframed response packet. statusLen is 2 or 4.
func ParseResponse(p []byte, statusLen int) (Response, error) {
	if len(p) < 8 {
		return Response{}, usererr.Errorf("", "%w: response of %d bytes", ErrProtocol, len(p))
	}
	if p[0] != 0x01 {
		return Response{}, usererr.Errorf("", "%w: direction byte %#02x in a response", ErrProtocol, p[0])
	}
	n := int(binary.LittleEndian.Uint16(p[2:]))
	if n != len(p)-8 {
		return Response{}, usererr.Errorf("", "%w: size field %d, %d bytes of data", ErrProtocol, n, len(p)-8)
	}
	r := Response{Op: p[1], Value: binary.LittleEndian.Uint32(p[4:]), Data: p[8:]}
	if len(r.Data) < 2 {
		return Response{}, usererr.Errorf("", "%w: %s answer has no status bytes", ErrProtocol, opName(r.Op))
	}
	if statusLen != 4 || len(r.Data) < 4 {
		statusLen = 2
	}
	st := r.Data[len(r.Data)-statusLen:]
	r.Status, r.Error = st[0], st[1]
	return r, nil
}

// payload returns the response data before its status bytes.
func (r Response) payload(statusLen int) []byte {
	if statusLen != 4 || len(r.Data) < 4 {
		statusLen = 2
	}
	return r.Data[:len(r.Data)-statusLen]
}

func words(v ...uint32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return b
}

// SyncPayload is SYNC's data: 0x07 0x07 0x12 0x20 and 32 bytes of 0x55.
func SyncPayload() []byte {
	b := []byte{0x07, 0x07, 0x12, 0x20}
	for range 32 {
		b = append(b, 0x55)
	}
	return b
}
