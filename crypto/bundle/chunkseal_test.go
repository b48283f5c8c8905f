package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
	"testing/cryptotest"

	"filippo.io/age"

	"trustforge/crypto/engine"
)

// goSealer is a ChunkSealer in Go (engine.SealChunks), counting its calls;
// with fail set, every wait fails, as a browser whose worker died.
type goSealer struct {
	engine.Engine
	calls int
	fail  bool
}

func (g *goSealer) StartSealChunks(key []byte, counter uint64, plaintext []byte, last bool) func([]byte) ([]byte, error) {
	g.calls++
	key, plaintext = slices.Clone(key), slices.Clone(plaintext)
	return func(dst []byte) ([]byte, error) {
		if g.fail {
			return nil, errors.New("sealer gone")
		}
		return engine.SealChunks(dst, key, counter, plaintext, last)
	}
}

// TestChunkSealerMatchesAge: an age file whose payload an engine seals is
// byte for byte the one age writes from the same randomness, for every
// size around the chunk and batch boundaries, written in uneven pieces,
// and with a sealer that fails (Go seals in its place).
func TestChunkSealerMatchesAge(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	pass, err := age.NewScryptRecipient("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	pass.SetWorkFactor(10)
	passID, _ := age.NewScryptIdentity("correct horse")
	recipients := map[string]age.Recipient{"x25519": id.Recipient(), "passphrase": pass}
	ids := map[string]age.Identity{"x25519": id, "passphrase": passID}
	ck := engine.ChunkSize
	sizes := []int{0, 1, ck - 1, ck, ck + 1, sealBatch - 1, sealBatch, sealBatch + 1, sealBatch + ck, 3*sealBatch + 5, 4 * sealBatch}
	write := func(eng engine.Engine, r age.Recipient, data []byte) []byte {
		cryptotest.SetGlobalRandom(t, 18)
		var out bytes.Buffer
		w, err := ageEncrypt(&out, eng, nil, r)
		if err != nil {
			t.Fatal(err)
		}
		for rest, step := data, 1000; len(rest) > 0; step = (step*3 + 17) % (200 << 10) {
			n := min(step+1, len(rest))
			if _, err := w.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	for name, r := range recipients {
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%s/%d", name, size), func(t *testing.T) {
				data := make([]byte, size)
				for i := range data {
					data[i] = byte(i*7 + i>>11)
				}
				want := write(nil, r, data)
				for _, fail := range []bool{false, true} {
					s := &goSealer{Engine: engine.Go, fail: fail}
					got := write(s, r, data)
					if s.calls == 0 {
						t.Fatal("the sealer was never used")
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("fail=%v: the sealed age file (%d bytes) differs from age's (%d bytes)", fail, len(got), len(want))
					}
				}
				// And age opens it.
				rd, err := age.Decrypt(bytes.NewReader(want), ids[name])
				if err != nil {
					t.Fatal(err)
				}
				back, err := io.ReadAll(rd)
				if err != nil || !bytes.Equal(back, data) {
					t.Fatalf("age opened %d bytes (%v), want the %d written", len(back), err, len(data))
				}
			})
		}
	}
}

func TestSealChunksChecksItsArguments(t *testing.T) {
	key := make([]byte, 32)
	for _, c := range []struct {
		name    string
		key     []byte
		counter uint64
		n       int
		last    bool
	}{
		{"short key", key[:31], 0, 1, true},
		{"part of a chunk, not last", key, 0, 100, false},
		{"nothing, not last", key, 0, 0, false},
		{"an empty chunk after others", key, 3, 0, true},
		{"counter past 2^53", key, engine.MaxChunkCounter, 1, true},
	} {
		if _, err := engine.SealChunks(nil, c.key, c.counter, make([]byte, c.n), c.last); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}
