// Package bundle reads and writes trustforge release bundles (.tfb files):
// a signed manifest describing a firmware release, and the MCUboot image
// encrypted with age.
//
// A bundle has two parts, stored together in one NAME.tfb or apart:
//
//   - the signed manifest: a COSE_Sign1 (ES256 or EdDSA) over the Manifest
//     in canonical CBOR ([Manifest]): product, component, version, security counter,
//     channel, hardware, creation time, the MCUboot image's SHA256 TLV and
//     size, the payload's size and SHA-256, who can decrypt it, and release
//     notes;
//   - the payload: the MCUboot image encrypted with age to X25519 (or
//     post-quantum hybrid) recipients or to a passphrase. It is a plain age
//     file: `age -d -i key.txt` decrypts it.
//
// docs/bundle-format.md gives the layout and the manifest's CDDL.
//
// # Security properties
//
//   - Whoever holds a bundle but none of its age identities learns the
//     manifest and nothing of the image. The manifest is public by design:
//     the release server verifies and orders releases from it alone.
//   - A manifest that [Signed.Verify] accepts was signed by one of the caller's
//     trusted keys and not changed since. It binds the exact payload bytes
//     (size and SHA-256 of the ciphertext), so a payload swapped for another
//     age file to the same recipients, truncated or extended, is refused
//     with [ErrPayloadMismatch]; [Decrypt] then checks the decrypted image's
//     SHA256 TLV and size against the manifest, and its contents against the
//     TLV.
//   - Every encoding is canonical and strictly parsed (no unknown fields, no
//     duplicate keys, bounded sizes), so a change to any byte of a bundle is
//     caught, with an error that wraps one of the package's sentinel errors.
//   - age does not authenticate the sender: trust in a payload comes only
//     from the signed manifest.
//   - [Decrypt] streams: its output is unverified until it returns nil.
//   - A passphrase opens a payload only through [PassphraseIdentity], which
//     refuses scrypt costs above [MaxWorkFactor], so a swapped payload cannot
//     make the opener allocate gigabytes before its hash is checked.
//
// # For a release server
//
// A server can accept an upload while it streams, holding only the
// manifest:
//
//	s, err := bundle.ReadHeader(body)       // header + signed manifest, never the payload
//	m, err := s.Verify(productKeys...)      // ErrUntrustedKey, ErrBadSignature; s.KeyID() names the signer
//	// order checks: bundle.Compare(m.Version, current) > 0, m.SecurityCounter, ...
//	pr := bundle.NewPayloadReader(body, m)  // counts and hashes; io.EOF only if exact
//	_, err = io.Copy(tmpFile, pr)           // ErrPayloadMismatch otherwise; keep tmpFile only on success
//
// The two parts may also arrive separately: [ParseSigned] reads a manifest
// part, and [NewPayloadVerifier] (an [io.Writer] with a final Check) or
// [NewPayloadReader] checks a payload part. [KeyFingerprint] names a key the way
// [Signed.KeyID] does: the SHA-256 of its SubjectPublicKeyInfo DER, in hex.
//
// # For the console and the CLI
//
// [Create] encrypts an image, signs its manifest and writes a .tfb; [Open]
// verifies and decrypts one. [Seal], [Sign], [WriteBundle], [ReadHeader] and
// [Decrypt] are the steps they are made of. Seal has age's shape: it returns
// a [Sealer], an [io.WriteCloser] the caller writes the image into, whose
// [Sealer.Manifest] then describes what was sealed:
//
//	sl, err := bundle.Seal(payloadFile, template, to)
//	_, err = io.Copy(sl, image)             // ErrNotImage as soon as the image is known bad
//	err = sl.Close()                        // ErrNotImage, ErrImageMismatch
//	m, err := sl.Manifest()                 // template + Image, Payload, Recipients, Passphrase
//	s, err := bundle.Sign(rand.Reader, &m, key)
//
// Errors wrap one of the package's sentinels (see [ErrMalformed] and the
// others in errors.go) and, where age reported the cause, age's error too:
// errors.As finds an [*filippo.io/age.NoIdentityMatchError] in an
// [ErrNoIdentity].
//
// The package is pure Go and builds for js/wasm, so the browser console
// creates and opens bundles exactly as the CLI does.
package bundle
