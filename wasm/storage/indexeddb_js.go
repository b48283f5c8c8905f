//go:build js && wasm

package storage

import (
	"context"
	"sort"

	"github.com/hack-pad/safejs"

	"trustforge/internal/browser"
	"trustforge/internal/usererr"
)

// objectStore is the one object store of each trustforge database.
const objectStore = "records"

// IndexedDB is a Store kept in an IndexedDB database of the page's origin:
// string keys, Uint8Array values, one object store. Each call is its own
// transaction; Put returns once its transaction has committed.
type IndexedDB struct {
	db safejs.Value
}

// Open opens (creating it if needed) the IndexedDB database named name.
func Open(ctx context.Context, name string) (Store, error) {
	factory, err := safejs.Global().Get("indexedDB")
	if err != nil || factory.IsUndefined() || factory.IsNull() {
		return nil, usererr.Errorf("storage", "this browser has no IndexedDB (a private window may disable it)")
	}
	req, err := browser.Call(factory, "open", name, 1)
	if err != nil {
		return nil, usererr.Errorf("storage", "opening %s: %w", name, err)
	}
	// Create the object store on first open, inside the upgrade event.
	upgrade, err := safejs.FuncOf(func(this safejs.Value, args []safejs.Value) any {
		db, err := req.Get("result")
		if err != nil {
			return nil
		}
		names, _ := db.Get("objectStoreNames")
		if has, _ := browser.Call(names, "contains", objectStore); has.Type() == safejs.TypeBoolean {
			if ok, _ := has.Bool(); ok {
				return nil
			}
		}
		browser.Call(db, "createObjectStore", objectStore)
		return nil
	})
	if err != nil {
		return nil, err
	}
	defer upgrade.Release()
	if err := req.Set("onupgradeneeded", upgrade.Value()); err != nil {
		return nil, err
	}
	if _, err := browser.WaitEvent(ctx, req, "success", "error", "blocked"); err != nil {
		return nil, usererr.Errorf("storage", "opening %s: %w", name, err)
	}
	req.Set("onupgradeneeded", safejs.Null())
	db, err := req.Get("result")
	if err != nil {
		return nil, err
	}
	return &IndexedDB{db: db}, nil
}

// tx starts a transaction on the object store and returns the store.
func (s *IndexedDB) tx(mode string) (tx, store safejs.Value, err error) {
	tx, err = browser.Call(s.db, "transaction", objectStore, mode)
	if err != nil {
		return safejs.Undefined(), safejs.Undefined(), usererr.Errorf("storage", "%w", err)
	}
	store, err = browser.Call(tx, "objectStore", objectStore)
	if err != nil {
		return safejs.Undefined(), safejs.Undefined(), usererr.Errorf("storage", "%w", err)
	}
	return tx, store, nil
}

// request waits for an IDBRequest and returns its result.
func request(ctx context.Context, req safejs.Value) (safejs.Value, error) {
	if _, err := browser.WaitEvent(ctx, req, "success", "error"); err != nil {
		return safejs.Undefined(), usererr.Errorf("storage", "%w", err)
	}
	return req.Get("result")
}

// Get returns the value under key.
func (s *IndexedDB) Get(ctx context.Context, key string) ([]byte, bool, error) {
	_, st, err := s.tx("readonly")
	if err != nil {
		return nil, false, err
	}
	req, err := browser.Call(st, "get", key)
	if err != nil {
		return nil, false, usererr.Errorf("storage", "%w", err)
	}
	v, err := request(ctx, req)
	if err != nil {
		return nil, false, err
	}
	if v.IsUndefined() || v.IsNull() {
		return nil, false, nil
	}
	b, err := browser.BytesFromJS(v)
	if err != nil {
		return nil, false, usererr.Errorf("storage", "value under %q: %w", key, err)
	}
	return b, true, nil
}

// Put stores value under key and waits for the transaction to commit.
func (s *IndexedDB) Put(ctx context.Context, key string, value []byte) error {
	tx, st, err := s.tx("readwrite")
	if err != nil {
		return err
	}
	arr, err := browser.BytesToJS(value)
	if err != nil {
		return err
	}
	if _, err := browser.Call(st, "put", arr, key); err != nil {
		return usererr.Errorf("storage", "%w", err)
	}
	if _, err := browser.WaitEvent(ctx, tx, "complete", "error", "abort"); err != nil {
		return usererr.Errorf("storage", "writing %q: %w", key, err)
	}
	return nil
}

// Delete removes key and waits for the transaction to commit.
func (s *IndexedDB) Delete(ctx context.Context, key string) error {
	tx, st, err := s.tx("readwrite")
	if err != nil {
		return err
	}
	if _, err := browser.Call(st, "delete", key); err != nil {
		return usererr.Errorf("storage", "%w", err)
	}
	if _, err := browser.WaitEvent(ctx, tx, "complete", "error", "abort"); err != nil {
		return usererr.Errorf("storage", "deleting %q: %w", key, err)
	}
	return nil
}

// List returns the keys starting with prefix, sorted.
func (s *IndexedDB) List(ctx context.Context, prefix string) ([]string, error) {
	_, st, err := s.tx("readonly")
	if err != nil {
		return nil, err
	}
	keyRange, err := safejs.Global().Get("IDBKeyRange")
	if err != nil {
		return nil, err
	}
	// Every string starting with prefix sorts between prefix and
	// prefix + U+FFFF.
	rng, err := browser.Call(keyRange, "bound", prefix, prefix+"\uffff")
	if err != nil {
		return nil, usererr.Errorf("storage", "%w", err)
	}
	req, err := browser.Call(st, "getAllKeys", rng)
	if err != nil {
		return nil, usererr.Errorf("storage", "%w", err)
	}
	v, err := request(ctx, req)
	if err != nil {
		return nil, err
	}
	n, err := v.Length()
	if err != nil {
		return nil, usererr.Errorf("storage", "%w", err)
	}
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		k, _ := v.Index(i)
		if k.Type() != safejs.TypeString {
			continue
		}
		s, _ := k.String()
		out = append(out, s)
	}
	sort.Strings(out)
	return out, nil
}
