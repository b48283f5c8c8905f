// Package mastering builds production packages in the engineer's console:
// from a release verified in this browser, it opens the release with the
// vault's identities, puts the image in the form the package's image mode
// needs (the clear form of an image signed for encryption, for boards'
// own keys; or the image as it boots, for factory programming), has the
// device CA make a batch CA for the order, and seals image and batch CA
// key to the chosen stations in a signed .tfp (crypto/production).
//
// Like wasm/release it is plain Go and runs where it is called: in the
// browser on a goroutine started by ctx.Async, natively in tests. The
// plaintext image and the batch CA key exist only in this memory, then
// only inside the package, which only the stations can open.
package mastering
