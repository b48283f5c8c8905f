// Package sim is a reference board for trustforge: a simulated
// microcontroller with NOR flash, an MCUboot bootloader and a Zephyr SMP
// server on a UART, faithful enough that the console, the CLI, CI rigs and
// production lines can be tested and rehearsed without hardware.
//
// The flash has a primary and a secondary slot of a configured size and write
// alignment; it must be erased before it is written, and it can live in a
// file so that power cycles and restarts keep it. The bootloader behaves as
// MCUboot does in swap mode: it validates the secondary image (hash, and the
// signature against the provisioned boot keys), decrypts images encrypted to
// the board's key, performs test and permanent swaps, reverts an unconfirmed
// test image at the next reset, refuses an image whose security counter is
// lower than the board's (anti-rollback), erases an image that fails any of
// this and keeps running the old one. It prints MCUboot-style log lines on
// the console, between SMP frames.
//
// The SMP server implements the OS and image groups as Zephyr does, with its
// status codes, version 1 and 2 errors and indefinite-length CBOR answers.
// With no valid image in the primary slot the board answers as MCUboot
// serial recovery, uploading into the primary slot.
//
// The UART can be paced at a baud rate (10 bits a byte, as 8N1), so bytes
// arrive and leave when they would on a real line, and faults can be
// injected: a link that goes silent or a power cut after byte N, a corrupt
// frame, slow answers.
//
// USB: NewZephyrDFU gives a board a USB port with Zephyr's DFU class (a
// run-time interface beside a vendor SMP interface; after DFU_DETACH and a
// USB reset, DFU mode with image-0 and image-1 for its slots), and NewDfuSe
// is an STM32 system bootloader speaking DfuSe (flash sectors with erase
// times announced as poll timeouts, option bytes, read-out protection).
// Both are reached through control transfers as devices/dfu makes them,
// refuse a host that polls before the poll timeout it was given, and
// re-enumerate, disappear and come back as real devices do.
//
// Security: a board with no boot key provisioned accepts any image whose
// hash is valid, like an unprovisioned development board. Provision keys to
// rehearse what a production board enforces.
package sim
