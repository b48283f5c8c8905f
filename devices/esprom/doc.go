// Package esprom talks to the ROM loader ("download mode") of Espressif
// ESP32-family chips over any byte stream: a host serial port, a
// pseudo-terminal, the browser's Web Serial port, or the simulator.
//
// It follows Espressif's published serial protocol (esptool documentation,
// "Serial Protocol"): SLIP-framed command packets (direction, command,
// size, checksum, data) answered by response packets (direction, command,
// size, value, data ending in status bytes). On top of the commands the
// Client offers what a flasher needs: reset into the bootloader through
// DTR/RTS (classic USB-UART bridges) or the USB-Serial-JTAG sequence (chips
// with native USB), SYNC, chip detection (GET_SECURITY_INFO, else the magic
// register), READ_REG/WRITE_REG, SPI_ATTACH and SPI_SET_PARAMS, the flash
// id, plain (FLASH_BEGIN/DATA/END) and deflate-compressed (FLASH_DEFL_*)
// writes verified with SPI_FLASH_MD5, CHANGE_BAUDRATE, the MAC and the
// eFuse blocks, and eFuse programming through the eFuse controller's
// registers as the chip's Technical Reference Manual maps them (ESP32-C3).
//
// Errors say what to do: ErrNoSync carries the hint to hold BOOT while
// resetting; ErrWrongChip, ErrTooLarge and ErrOverlap are returned by Flash
// before anything is written; ErrMD5Mismatch and ErrChecksum report data
// that did not arrive intact; ErrSecureDownload reports a command the ROM
// refuses in Secure Download Mode.
//
// The package is pure Go with no system calls and builds for js/wasm: the
// browser console and the CLI use the same client.
package esprom
