package engine

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"hash"
	"testing"
)

func TestGoIsTheStandardLibrary(t *testing.T) {
	if Or(nil) != Go {
		t.Fatal("Or(nil) is not Go")
	}
	data := bytes.Repeat([]byte("trustforge"), 1000)
	h := Go.NewSHA256()
	h.Write(data)
	if want := sha256.Sum256(data); !bytes.Equal(h.Sum(nil), want[:]) {
		t.Error("Go's SHA-256 differs from crypto/sha256")
	}
	key, iv := bytes.Repeat([]byte{7}, 16), bytes.Repeat([]byte{0xff}, 16)
	s, err := Go.NewCTR(key, iv)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data))
	s.XORKeyStream(got, data)
	block, _ := aes.NewCipher(key)
	want := make([]byte, len(data))
	cipher.NewCTR(block, iv).XORKeyStream(want, data)
	if !bytes.Equal(got, want) {
		t.Error("Go's AES-CTR differs from crypto/cipher")
	}
	if _, err := Go.NewCTR(make([]byte, 15), iv); err == nil {
		t.Error("a 15-byte AES key was accepted")
	}
}

type expecting struct {
	hash.Hash
	n int64
}

func (e *expecting) Expect(n int64) { e.n = n }

func TestExpectReachesOnlyExpecters(t *testing.T) {
	h := &expecting{Hash: sha256.New()}
	Expect(h, 12345)
	if h.n != 12345 {
		t.Errorf("an Expecter was told %d, want 12345", h.n)
	}
	g := Go.NewSHA256()
	Expect(g, 12345) // Go's hash holds nothing: told nothing, changes nothing
	g.Write([]byte("abc"))
	if want := sha256.Sum256([]byte("abc")); !bytes.Equal(g.Sum(nil), want[:]) {
		t.Error("Expect changed Go's hash")
	}
}
