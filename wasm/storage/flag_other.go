//go:build !(js && wasm)

package storage

// Flag is a yes/no hint kept in the browser's localStorage under Key, so
// it survives reloads. Outside a browser it is never set.
type Flag struct {
	Key string
}

// Get reports whether the flag is set: never, outside a browser.
func (f Flag) Get() bool { return false }

// Set does nothing outside a browser.
func (f Flag) Set(on bool) {}
