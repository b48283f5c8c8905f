package vault_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"trustforge/crypto/vault"
)

// mapStore is the simplest Store: a map (the console uses IndexedDB).
type mapStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *mapStore) Get(_ context.Context, k string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[k]
	return v, ok, nil
}

func (s *mapStore) Put(_ context.Context, k string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[k] = v
	return nil
}

func (s *mapStore) Delete(_ context.Context, k string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, k)
	return nil
}

func (s *mapStore) List(_ context.Context, prefix string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.m {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out, nil
}

func Example() {
	ctx := context.Background()
	st := &mapStore{m: map[string][]byte{}}
	opts := vault.Options{WorkFactor: 10} // cheap for the example; keep the default in real use

	v, err := vault.Create(ctx, st, "correct horse battery", opts)
	if err != nil {
		panic(err)
	}
	info, err := v.Generate(ctx, vault.Ed25519, "release signing")
	if err != nil {
		panic(err)
	}
	fmt.Println(info.Name, info.Algorithm, info.Algorithm.Use())

	// Later, in a new tab: the vault opens locked.
	v, _ = vault.Open(ctx, st, opts)
	fmt.Println("locked:", v.Locked())
	fmt.Println("wrong passphrase:", v.Unlock(ctx, "tr0ub4dor&3"))
	if err := v.Unlock(ctx, "correct horse battery"); err != nil {
		panic(err)
	}
	k, _ := v.Key(ctx, info.ID)
	priv, _ := k.Private()
	fmt.Println("unsealed:", priv.Algorithm())
	// Output:
	// release signing ed25519 signing
	// locked: true
	// wrong passphrase: vault: wrong passphrase
	// unsealed: ed25519
}
