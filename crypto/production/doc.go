// Package production reads and writes trustforge production packages
// (.tfp files) and production tickets: what a product team hands a
// contract manufacturer's programming station, and what the release server
// signs before each device the station builds.
//
// A production package carries, for one product and one order (a batch):
//
//   - in its signed manifest, public: the product, the batch, the
//     authorised count, the validity window, which release it programs and
//     how (ImageDevice: encrypted to each board's key at install time;
//     ImageClear: programmed in the clear, for factory programming), the
//     provisioning profile, the batch CA's certificate and the root it
//     chains to, and the age recipients of the stations that may open it;
//   - in its payload, age-encrypted to those stations only: the MCUboot
//     image and the batch CA's private key.
//
// docs/production-format.md gives the layout and the CDDL. The manifest is
// a COSE_Sign1 made with crypto/bundle's Envelope (content type
// application/vnd.trustforge.production+cbor, label
// trustforge/production/package/v1) and the payload is an age file made
// with bundle.EncryptStream: the same machinery as release bundles.
//
// A Ticket is the release server's permission to build one device under a
// package: its id, the package, its sequence number within the authorised
// count, the device it is for (or none, for an offline block), and when it
// was issued and expires. The server signs it (label
// trustforge/production/ticket/v1) and the station puts it into the
// device's certificate as the extension OIDTicket, so a device built
// beyond the order carries no valid ticket and is detectable.
//
// # Security properties
//
//   - Only a holder of a station's age identity can read the image and the
//     batch CA key. An engineer's or technician's identity does not open a
//     package (ErrNotForYou), and the server refuses a package addressed
//     to anyone but station accounts.
//   - A package changed anywhere is refused: the header's fields are
//     checked, the manifest is signed (ErrModified wrapping
//     bundle.ErrBadSignature), the payload's size and SHA-256 are bound by
//     the manifest (ErrModified wrapping bundle.ErrPayloadMismatch), age
//     authenticates the plaintext, and the decrypted contents are checked
//     against the manifest (image hash and size, batch CA key).
//   - Encodings are canonical and strictly parsed, with bounded sizes, so
//     a parser of outside bytes never panics and a document has one
//     encoding.
//   - Tickets are signed documents of their own kind: a ticket signature
//     never verifies as a manifest's or a release's, and the reverse.
//
// The package is pure Go and builds for js/wasm: the engineer's console
// builds packages and the station's console opens them.
package production
