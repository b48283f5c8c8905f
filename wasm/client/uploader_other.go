//go:build !(js && wasm)

package client

// DefaultUploader returns the uploader of the platform: natively nil, so
// uploads go through net/http.
func DefaultUploader() Uploader { return nil }
