// Package mcuimg reads, verifies, signs, encrypts and decrypts MCUboot
// firmware images, byte for byte as MCUboot's imgtool makes them, so that
// trustforge can replace imgtool without touching a bootloader. It is pure
// Go and runs in the browser (GOOS=js GOARCH=wasm) as well as on servers and
// in the board simulator.
//
// # Image layout
//
// An image is a 32-byte header and its filler (Header.HeaderSize bytes in
// all), the payload (Header.ImageSize bytes), an optional protected TLV area
// and the unprotected TLV area. The image hash (SHA256 TLV) covers header,
// payload plaintext and protected TLVs; the signature covers the hash (or,
// with SIG_PURE, the same bytes directly). Unprotected TLVs are not covered,
// so Verify refuses any there except hashes, keys, signatures and wrapped
// image keys. A slot image (`--pad`) continues with erased filler and a
// trailer whose magic and image_ok flag ask the bootloader for a test or a
// permanent swap.
//
// # Security properties
//
//   - Verify compares hashes in constant time and checks signatures with the
//     standard library: ECDSA P-256 (ASN.1) over the hash, Ed25519 over the
//     hash, or Ed25519 over the image with SIG_PURE.
//   - A signature counts only when the key TLV before it names a trusted key
//     (by SHA-256 of its SubjectPublicKeyInfo, or the full key), as in MCUboot.
//   - Encryption is MCUboot's: AES-CTR with a zero IV under a random image
//     key, wrapped with ECIES (X25519 or P-256 ECDH, HKDF-SHA256 with info
//     "MCUBoot_ECIES_v1", AES-CTR and HMAC-SHA256). The payload is encrypted,
//     not authenticated: integrity comes from the signed plaintext hash, so
//     decrypt and then verify (Verify with DecryptionKey does both).
//   - Parsers never panic on input: every length is checked, and a malformed
//     image gives an error wrapping one of the ErrX sentinels with the offset.
//
// # Reading and checking an image (bootloader side)
//
//	img, err := mcuimg.Parse(data)             // a file; ParsePrefix for a flash slot
//	if err != nil { ... }                       // ErrBadMagic, ErrTruncated, ErrBadTLV, ...
//	ver := img.Version()                        // mcuimg.Version{Major: 1, Minor: 2, Revision: 3, Build: 4}
//	flags := img.Flags()                        // flags.Encrypted(), flags&mcuimg.FlagNonBootable
//	cnt, ok, err := img.SecurityCounter()       // protected SEC_CNT TLV
//	_, hash, ok := img.Hash()                   // SHA256 TLV value: SMP's image "hash"
//
//	pub, err := keys.ParsePublicKey(pemOrDER)   // trusted key provisioned in the device
//	v, err := img.Verify(mcuimg.VerifyOptions{Keys: []*keys.PublicKey{pub}})
//	v, err = img.Verify(mcuimg.VerifyOptions{}) // hash only, no signature check
//	// errors.Is(err, mcuimg.ErrHashMismatch / ErrKeyMismatch / ErrBadSignature / ErrNoSignature)
//
// # Decrypting (device with an encryption key)
//
//	priv, err := keys.ParsePrivateKey(x25519PEM) // or a P-256 key for ENC_EC256 images
//	v, err := img.Verify(mcuimg.VerifyOptions{Keys: trusted, DecryptionKey: priv})
//	plain, err := img.Decrypt(priv)              // whole image, payload decrypted
//	payload, err := img.DecryptPayload(priv)     // payload only
//	aesKey, err := img.UnwrapKey(priv)           // the image key, to decrypt as a bootloader swaps
//
// # Making an image
//
//	signed, err := mcuimg.Sign(payload, &mcuimg.SignOptions{
//		Key: signingKey, Version: ver, HeaderSize: 0x200, PadHeader: true,
//		Align: 8, SlotSize: 0x40000, EncryptTo: devicePub,
//	})
//
// SignTo streams a payload from an io.Reader to an io.Writer, for large
// images. Ed25519 signing is deterministic: signing app.bin with the same
// key and options gives imgtool's image byte for byte.
package mcuimg
