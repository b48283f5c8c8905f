//go:build !(js && wasm)

package storage

import "context"

// Open returns the store named name. Outside a browser it is a fresh
// Memory: nothing persists.
func Open(ctx context.Context, name string) (Store, error) {
	return &Memory{}, nil
}
