package cli

import (
	"io"
	"testing"

	"trustforge/crypto/mcuimg"
)

func TestDemoBoardFactoryImageAndPersistence(t *testing.T) {
	dir := t.TempDir()
	b, h, err := openDemoBoard(dir, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if h == nil {
		t.Fatal("no handler")
	}
	r := b.Running()
	if r.Recovery || r.Version != (mcuimg.Version{Minor: 1}) {
		t.Fatalf("a new demo board runs %+v, want the 0.1.0 factory image", r)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// The flash is kept in the data directory: the board boots the same
	// image again, without being programmed anew.
	b, _, err = openDemoBoard(dir, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := b.Running(); got.Recovery || string(got.Hash) != string(r.Hash) {
		t.Errorf("after a restart the board runs %+v, want the same factory image", got)
	}
}
