// Package storage keeps the console's local data in the browser: a small
// key-value store per purpose (the key vault's records, for one), kept in
// IndexedDB so it survives reloads and stays on this machine.
//
// IndexedDB is reached only in indexeddb_js.go, through safejs. Memory is
// the same store in memory: natively (tests, the server's pre-rendering)
// Open returns one, so code built on a Store is tested without a browser.
package storage

import "context"

// Store is a key-value store of byte values. It satisfies vault.Store.
type Store interface {
	// Get returns the value under key; ok is false when there is none.
	Get(ctx context.Context, key string) (value []byte, ok bool, err error)
	// Put stores value under key, replacing any value there, durably.
	Put(ctx context.Context, key string, value []byte) error
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// List returns the keys starting with prefix, in ascending order.
	List(ctx context.Context, prefix string) ([]string, error)
}
