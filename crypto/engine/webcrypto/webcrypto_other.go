//go:build !(js && wasm)

package webcrypto

import "trustforge/crypto/engine"

// New returns engine.Go: outside the browser there is no WebCrypto.
func New() engine.Engine { return engine.Go }
