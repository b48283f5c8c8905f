package bundle

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"slices"
	"testing"
	"testing/cryptotest"

	"filippo.io/age"

	"trustforge/crypto/engine"
)

// memKept is an engine.KeptPayload in Go memory, sealing with
// engine.SealChunks; with failAt > 0, the failAt-th batch fails, and so
// does everything after it, as the browser's worker does.
type memKept struct {
	buf      []byte
	batches  int
	failAt   int
	err      error
	released bool
}

func (k *memKept) Write(p []byte) (int, error) {
	if k.err != nil {
		return 0, k.err
	}
	k.buf = append(k.buf, p...)
	return len(p), nil
}

func (k *memKept) StartSealChunks(key []byte, counter uint64, plaintext []byte, last bool) func() error {
	k.batches++
	if k.err == nil && k.batches == k.failAt {
		k.err = errors.New("worker gone")
	}
	if k.err != nil {
		err := k.err
		return func() error { return err }
	}
	out, err := engine.SealChunks(nil, slices.Clone(key), counter, plaintext, last)
	if err != nil {
		k.err = err
		return func() error { return err }
	}
	k.buf = append(k.buf, out...)
	return func() error { return nil }
}

func (k *memKept) Sum(context.Context) ([]byte, error) {
	if k.err != nil {
		return nil, k.err
	}
	s := sha256.Sum256(k.buf)
	return s[:], nil
}

func (k *memKept) Len() int64 { return int64(len(k.buf)) }
func (k *memKept) Release()   { k.released = true }

// A bundle whose payload an engine keeps (CreateKept, then the header and
// the kept bytes) is byte for byte the one Create writes from the same
// randomness, for images around the chunk and batch sizes; it opens.
func TestCreateKeptMatchesCreate(t *testing.T) {
	key := signerFromPEM(t, "ed25519.pem")
	to := testRecipients(t)
	for _, size := range []int{64, engine.ChunkSize - 40, sealBatch + 3, 3*sealBatch + 1000} {
		img := makeImage(size, uint64(size))
		cryptotest.SetGlobalRandom(t, 7)
		var want bytes.Buffer
		if _, err := Create(context.Background(), &want, bytes.NewReader(img), testManifest(), CreateOptions{
			Key: key, To: to, Now: fixedNow,
		}); err != nil {
			t.Fatal(err)
		}
		cryptotest.SetGlobalRandom(t, 7)
		kept := &memKept{}
		s, err := CreateKept(context.Background(), bytes.NewReader(img), testManifest(), kept, CreateOptions{
			Key: key, To: to, Now: fixedNow,
		})
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		if kept.batches == 0 {
			t.Fatalf("%d bytes: nothing was sealed into the kept payload", size)
		}
		var got bytes.Buffer
		if err := WriteHeader(&got, s); err != nil {
			t.Fatal(err)
		}
		got.Write(kept.buf)
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("%d bytes: the kept bundle (%d bytes) differs from Create's (%d bytes)", size, got.Len(), want.Len())
		}
		var plain bytes.Buffer
		if _, err := Open(context.Background(), &plain, &got, OpenOptions{
			Trusted:    []crypto.PublicKey{key.Public()},
			Identities: []age.Identity{identityFromFile(t, "technician.agekey")},
		}); err != nil || !bytes.Equal(plain.Bytes(), img) {
			t.Fatalf("%d bytes: open: %v (%d bytes back)", size, err, plain.Len())
		}
	}
}

// A batch the keeper fails fails the bundle (its bytes cannot be put in
// place), with the keeper's error; an image that is not one is refused as
// Create refuses it; a used payload is refused before any work.
func TestCreateKeptFailures(t *testing.T) {
	key := signerFromPEM(t, "ed25519.pem")
	img := makeImage(3*sealBatch, 3)
	for _, at := range []int{1, 2} {
		_, err := CreateKept(context.Background(), bytes.NewReader(img), testManifest(), &memKept{failAt: at},
			CreateOptions{Key: key, To: testRecipients(t), Now: fixedNow})
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte("worker gone")) {
			t.Errorf("batch %d failed: %v, want the keeper's error", at, err)
		}
	}
	bad := slices.Clone(img)
	bad[0] ^= 0xff // the header's magic
	if _, err := CreateKept(context.Background(), bytes.NewReader(bad), testManifest(), &memKept{},
		CreateOptions{Key: key, To: testRecipients(t), Now: fixedNow}); !errors.Is(err, ErrNotImage) {
		t.Errorf("not an image: %v, want ErrNotImage", err)
	}
	if _, err := CreateKept(context.Background(), bytes.NewReader(img), testManifest(), &memKept{buf: []byte{1}},
		CreateOptions{Key: key, To: testRecipients(t), Now: fixedNow}); err == nil {
		t.Error("a payload already holding bytes was accepted")
	}
	if _, err := CreateKept(context.Background(), bytes.NewReader(img), testManifest(), nil,
		CreateOptions{Key: key, To: testRecipients(t), Now: fixedNow}); err == nil {
		t.Error("no payload was accepted")
	}
}
