// Package station is the console's station mode: a programming station
// at a contract manufacturer works through the boards presented on its
// serial ports under one production package (crypto/production). For each
// board it reads the board's id, takes a production ticket from the
// release server (which counts it against the order's authorised count),
// provisions the board's identity with the package's batch CA — the ticket
// goes into the device certificate — flashes the package's image (each
// board's copy encrypted to that board's own key when the package says
// so), checks that the board boots it, confirms it, and records the
// result.
//
// A package that carries an ESP32 flash set programs ESP32 boards through
// their ROM loader instead (ProgramESP): the chip's factory MAC is the
// board's id for its ticket, every part is checked against the chip before
// the ticket is taken, written with the chip's MD5 check, and the boot log
// must show the package's version; no certificate is issued, as the ROM
// loader cannot make a key on the board.
//
// USB DFU boards (ProgramDFU) run through the guided update's kinds,
// updateflow.DFUSlot for a Zephyr board and updateflow.DfuSe for an
// STM32's bootloader: the check writes nothing; a Zephyr board whose
// application speaks the provisioning group is provisioned (its
// certificate carries its ticket), other boards are counted by the ticket
// bound to their USB serial number; an STM32's read-out protection is set
// to level 1 only when the package asks for it and the operator confirmed
// it (ReadOutProtection).
//
// It is plain Go over devices/smp, devices/provision and devices/fwupdate:
// the console runs it in the browser on ports opened with Web Serial, and
// its tests run it natively against devices/sim boards.
//
// # Security properties
//
//   - Nothing is written to a board before its ticket is in hand and
//     verified under the server's ticket key: a board presented once the
//     authorised count is reached, or after the order's expiry, is
//     refused with the server's reason and left as it was.
//   - Every certificate the station issues carries the ticket it took for
//     that device; the device registry refuses a batch certificate
//     without one, so devices built beyond the order are detectable.
//   - The batch CA key and the plaintext image exist only in this memory,
//     decrypted from the package with the station's age identity.
package station
