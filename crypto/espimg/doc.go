// Package espimg reads, checks, signs and encrypts the firmware images of
// Espressif ESP32-family chips, as Espressif's public documentation lays
// them out: the app image format (ESP-IDF "App Image Format"), Secure Boot
// v2 signature blocks (ESP-IDF "Secure Boot v2") and XTS-AES flash
// encryption (ESP-IDF "Flash Encryption", the chip's Technical Reference
// Manual).
//
// # Images
//
// Parse checks an app or bootloader image completely: the 24-byte header
// and its extended part (chip id, minimum and maximum revision), every
// segment header against the image's length, the XOR checksum and, when the
// header says so, the appended SHA-256. Build assembles an image from
// segments, with both.
//
// # Secure Boot v2
//
// Sign pads an image to a 4 KiB boundary with erased flash (0xFF) and
// appends a 4 KiB signature sector holding one 1216-byte signature block per
// key (at most three): RSA-3072 with RSA-PSS (SHA-256, MGF1-SHA-256, 32-byte
// salt) or ECDSA over P-256, each over the SHA-256 of the padded image, with
// the block's CRC32. Numbers are stored little-endian, as the chips' ROM
// reads them. KeyDigest computes the SHA-256 of a key's public part of the
// block (776 bytes for RSA, 65 for ECDSA): the digest burned into an eFuse
// key block. Verify accepts an image only when a block signed by one of the
// trusted keys (or trusted digests) verifies; it follows the bootloader's
// rules: a block is valid when its magic byte and CRC32 are right, and an
// image is verified when the digest of a valid block's key is trusted, the
// block's image digest is the image's, and the signature verifies.
//
// Keys are the PEM files `espsecure generate_signing_key --version 2` writes
// (PKCS#1 "RSA PRIVATE KEY", SEC1 "EC PRIVATE KEY") or PKCS#8; public keys
// are SubjectPublicKeyInfo PEM, as `espsecure extract_public_key` writes.
//
// # Flash encryption
//
// EncryptFlash and DecryptFlash apply XTS-AES (IEEE Std 1619-2007) the way
// the ESP32-S2, -S3 and -C3 flash controllers do: the flash is cut into
// 128-byte data units aligned to their flash address, each unit's tweak is
// its flash address as a little-endian 128-bit number, and each unit is
// processed with its byte order reversed. A 256-bit key (XTS-AES-128, the
// only size the ESP32-C3 has) or a 512-bit key (XTS-AES-256) is the eFuse
// key block's content, first half the data key, second half the tweak key.
//
// # Security properties
//
//   - Verify never trusts a key that a signature block carries: the key's
//     digest must be one of the caller's. A block's CRC32 only detects
//     damage; it protects nothing.
//   - Parse and Verify bound every length by the input's, and return an error
//     wrapping one of the package's sentinel errors for every malformed
//     input; they never panic on input.
//   - XTS-AES is unauthenticated, as on the chip: flash encryption keeps
//     firmware confidential; integrity comes from Secure Boot.
//
// The package is pure Go and builds for js/wasm, so the browser console
// signs and encrypts ESP32 images exactly as the CLI does.
package espimg
