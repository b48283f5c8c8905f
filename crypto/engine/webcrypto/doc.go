// Package webcrypto is the browser's engine for crypto/engine: SHA-256 and
// AES-CTR from WebCrypto (crypto.subtle), which runs them with the CPU's
// SHA and AES instructions, where WebAssembly's Go code is 10–20× slower.
//
// It produces exactly the bytes of engine.Go, which it falls back to where
// the page has no WebCrypto, for inputs too small to be worth a promise, and
// after any WebCrypto failure. Natively New returns engine.Go.
//
// WebCrypto answers with promises: NewCTR, a hash's Sum and a stream's
// XORKeyStream wait for one, so they must run in a goroutine (go-app's
// ctx.Async), never in a JavaScript callback, whose waiting would hang the
// page.
package webcrypto
