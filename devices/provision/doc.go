// Package provision speaks trustforge's provisioning protocol: an SMP user
// group (64) through which a board reports its unique id, generates its
// identity key (P-256) and signs a certificate request with it, stores its
// certificate chain, has its secure-boot key hash fused, generates its
// image encryption key (X25519), and is finally locked.
// docs/provisioning-protocol.md specifies the messages in CDDL for
// firmware teams.
//
// Client sends the commands over an smp.Client. Provision runs the whole
// guided flow for one board against a crypto/pki authority and a device
// registry, reporting each step as it ends.
//
// # Security properties
//
//   - Private keys never cross the link: the board returns the public
//     halves of the keys it generates, and a certificate request signed
//     with its identity key as proof of possession.
//   - Provision checks everything before it writes: a locked board, a
//     device id the registry already holds for another identity (a clone)
//     and a request that fails the product's policy (another device id, a
//     bad signature, a wrong key type or subject) stop the flow before any
//     write to the board or the registry.
//   - The chain is read back from the board and verified against the
//     root before the board is registered and locked.
//   - Every answer from the board is bounded and checked before use:
//     keys parse as SubjectPublicKeyInfo of the expected algorithm, the
//     device id is 1 to 32 bytes, the chain is at most pki.MaxChainSize.
package provision
