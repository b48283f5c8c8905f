//go:build !(js && wasm)

package storage

// Load returns nothing outside a browser: no session is remembered.
func (Memo) Load() (Remembered, bool) { return Remembered{}, false }

// Save does nothing outside a browser.
func (Memo) Save(*Remembered) {}
