package vault

import "context"

// Store is where a vault keeps its records: a key-value store of small
// values, such as an IndexedDB object store. Each Put must replace a value
// whole or not at all.
type Store interface {
	// Get returns the value stored under key; ok is false when there is
	// none.
	Get(ctx context.Context, key string) (value []byte, ok bool, err error)
	// Put stores value under key, replacing any value there.
	Put(ctx context.Context, key string, value []byte) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// List returns the keys that start with prefix, in ascending order.
	List(ctx context.Context, prefix string) ([]string, error)
}

// Store keys.
const (
	headerKey = "vault"
	keyPrefix = "key/"
)
