package esprom

import (
	"fmt"
	"sync"

	"trustforge/internal/usererr"
)

// Errors a caller may branch on.
var (
	// ErrNoSync reports a chip that never answered SYNC.
	ErrNoSync = usererr.New("esprom", "no answer from the ROM loader; hold BOOT (GPIO9 on ESP32-C3/C6/H2, GPIO0 on ESP32/S2/S3) while pressing RESET, release RESET then BOOT, and retry")
	// ErrTimeout reports a command whose answer did not come in time.
	ErrTimeout = usererr.New("esprom", "timed out waiting for the chip's answer")
	// ErrWrongChip reports an image built for another chip or revision.
	ErrWrongChip = usererr.New("esprom", "image is for another chip")
	// ErrTooLarge reports data that does not fit in the chip's flash.
	ErrTooLarge = usererr.New("esprom", "data does not fit in the flash")
	// ErrOverlap reports flash parts that overlap or are not sector aligned.
	ErrOverlap = usererr.New("esprom", "flash parts overlap or are misaligned")
	// ErrChecksum reports data the ROM received damaged (its checksum or
	// CRC did not match) or a flash write it could not read back.
	ErrChecksum = usererr.New("esprom", "the chip received damaged data")
	// ErrMD5Mismatch reports flash contents that differ from what was
	// written.
	ErrMD5Mismatch = usererr.New("esprom", "flash MD5 does not match the data written")
	// ErrSecureDownload reports a command the ROM refuses because Secure
	// Download Mode is on (READ_REG, SPI_FLASH_MD5, and others).
	ErrSecureDownload = usererr.New("esprom", "refused in Secure Download Mode")
	// ErrUnsupportedChip reports a chip this package has no register map
	// for (eFuses: the ESP32-C3 and ESP32-S3 only).
	ErrUnsupportedChip = usererr.New("esprom", "not supported on this chip")
	// ErrProtocol reports an answer that does not follow the protocol.
	ErrProtocol = usererr.New("esprom", "malformed answer")
	// ErrEfuse reports an eFuse write that is impossible or failed.
	ErrEfuse = usererr.New("esprom", "eFuse")
)

// ROMError is a failure status the ROM loader returned for a command.
type ROMError struct {
	Op   byte // command
	Code byte // error code of the status bytes
}

// romErrorText is built on first use, not when the console starts.
var romErrorText = sync.OnceValue(func() map[byte]string {
	return map[byte]string{
		0x05: "received message is invalid (parameters or length)",
		0x06: "failed to act on received message",
		0x07: "invalid CRC in message",
		0x08: "flash write error (read-back CRC mismatch)",
		0x09: "flash read error",
		0x0a: "flash read length error",
		0x0b: "deflate error",
	}
})

func (e *ROMError) Error() string { return "esprom: " + e.UserMessage() }

// UserMessage is the error for people: the command and the ROM's status.
func (e *ROMError) UserMessage() string {
	t, ok := romErrorText()[e.Code]
	if !ok {
		t = "unknown error"
	}
	return fmt.Sprintf("%s failed: ROM error %#02x, %s", opName(e.Op), e.Code, t)
}

// Is makes checksum and read-back failures match ErrChecksum.
func (e *ROMError) Is(target error) bool {
	return target == ErrChecksum && (e.Code == 0x07 || e.Code == 0x08 || e.Code == 0x0b)
}
