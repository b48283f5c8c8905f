package storage

import (
	"context"
	"slices"
	"testing"

	"trustforge/crypto/vault"
)

var _ vault.Store = (Store)(nil)

func TestMemory(t *testing.T) {
	ctx := context.Background()
	var s Memory
	if _, ok, err := s.Get(ctx, "a"); ok || err != nil {
		t.Fatalf("Get on empty store: ok=%v err=%v", ok, err)
	}
	for _, k := range []string{"key/b", "key/a", "vault", "keyz"} {
		if err := s.Put(ctx, k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	v := []byte("changed")
	s.Put(ctx, "vault", v)
	v[0] = 'X' // the store keeps its own copy
	got, ok, err := s.Get(ctx, "vault")
	if err != nil || !ok || string(got) != "changed" {
		t.Errorf("Get(vault) = %q, %v, %v", got, ok, err)
	}
	keys, _ := s.List(ctx, "key/")
	if want := []string{"key/a", "key/b"}; !slices.Equal(keys, want) {
		t.Errorf("List(key/) = %v, want %v", keys, want)
	}
	s.Delete(ctx, "key/a")
	s.Delete(ctx, "missing")
	keys, _ = s.List(ctx, "key/")
	if want := []string{"key/b"}; !slices.Equal(keys, want) {
		t.Errorf("after Delete, List = %v, want %v", keys, want)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Put(cctx, "x", nil); err == nil {
		t.Error("Put with a cancelled context succeeded")
	}
}
