// Package serial implements the SMP serial framing that Zephyr, nRF Connect
// SDK and MCUboot serial recovery speak on a UART, and opens host serial
// ports (USB adapters and pseudo-terminals) for it.
//
// A packet travels as one or more text lines. The first starts with the bytes
// 0x06 0x09, continuations with 0x04 0x14, and each ends with '\n' and is at
// most 127 bytes long. The line bodies are standard padded base64 of
//
//	u16 big-endian length (packet + 2) | packet | u16 big-endian CRC-16/XMODEM of packet
//
// Boards print console text on the same line, so the Reader skips (and can
// forward) anything that is not part of a frame, survives partial reads,
// truncated lines, corrupt base64 and bad checksums, and bounds the memory an
// adversarial stream can make it hold. A corrupt frame is reported and
// dropped; it never ends the stream.
package serial
