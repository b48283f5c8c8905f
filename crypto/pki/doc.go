// Package pki is the device certificate authority trustforge runs in the
// engineer's browser: a root CA, one intermediate CA per product, and the
// device certificates they issue to boards whose identity key was generated
// on the board and never left it.
//
// # Hierarchy
//
// The root CA (ECDSA P-256, self-signed, path length 1) certifies
// intermediates. Each intermediate (path length 0) serves one product: its
// subject is O=organisation, OU=product, and it carries critical name
// constraints whose only permitted subtree is that directory name, so a
// compromised intermediate cannot issue certificates for another product's
// devices. A device certificate's subject is the intermediate's subtree
// plus a common name made from the product's template and the device's
// unique id, with a subjectAltName URI of the RFC 9039 "urn:dev:" form.
// Device certificates carry no well-defined expiry by default
// (99991231235959Z, as IEEE 802.1AR asks of device identities).
//
// # Security properties
//
//   - CA private keys live in a crypto/vault Vault, sealed with the
//     engineer's passphrase; this package unseals one only to sign and never
//     returns or stores it in clear (Backup seals them again, to a
//     passphrase).
//   - Nothing of a certificate signing request is copied into a certificate
//     but its public key. A request is refused unless its signature verifies
//     under the key it carries (proof of possession), the key is ECDSA
//     P-256, its subject is exactly the one the product's template makes for
//     this device id, and any subjectAltName it asks for is the template's
//     URI. A request for another device id is refused with ErrWrongDevice.
//   - Serial numbers are 126 random bits, checked against the ledger of
//     every serial the authority has issued before they are used, so a
//     serial never repeats within a CA store; across browsers restored from
//     one backup a repeat needs a 2^-63 coincidence.
//   - Every certificate is parsed back and its signature checked against
//     its issuer before it is handed out. Chains are verified with the
//     standard library's path validation; the directory-name constraints it
//     does not evaluate are evaluated here, as RFC 5280 defines them, and
//     OpenSSL (`openssl verify`) accepts the same chains.
//   - Parsers of outside bytes (requests from boards, chains read back from
//     boards, CRLs, backups) bound their input and return errors, never
//     panic.
//
// The package is pure Go (no syscall/js) and runs in the browser under
// GOOS=js GOARCH=wasm as well as natively.
package pki
