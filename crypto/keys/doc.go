// Package keys holds the signing and encryption keys trustforge uses for
// MCUboot images, release bundles and device provisioning.
//
// Three algorithms are supported, named as MCUboot's imgtool names them:
// ECDSA over P-256 ("ecdsa-p256", signing and ECIES-P256 image encryption),
// Ed25519 ("ed25519", signing) and X25519 ("x25519", ECIES-X25519 image
// encryption). Keys are read from and written to the PKCS#8 PEM files that
// `imgtool keygen` writes, so existing keys keep working; SEC1 "EC PRIVATE
// KEY" files are read too. Public keys are exchanged as SubjectPublicKeyInfo
// (SPKI), in DER or PEM.
//
// Key types are opaque: a PrivateKey or PublicKey is built by Generate or one
// of the Parse functions and always holds a valid key of its algorithm.
// Private key material is never printed by String or error messages.
// Password-protected ("ENCRYPTED PRIVATE KEY") files are refused with
// ErrEncryptedKey rather than misread.
package keys
