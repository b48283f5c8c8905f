package release

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"slices"
	"testing"

	"filippo.io/age"

	"trustforge/crypto/bundle"
	"trustforge/crypto/engine"
)

// keeper is an engine that keeps payloads in Go memory (as the browser's
// keeps them in its worker), failing the failAt-th sealed batch when set.
type keeper struct {
	engine.Engine
	failAt int
	made   []*goKept
}

func (k *keeper) KeepPayload(context.Context, int64) engine.KeptPayload {
	p := &goKept{failAt: k.failAt}
	k.made = append(k.made, p)
	return p
}

type goKept struct {
	buf             []byte
	batches, failAt int
	err             error
	released        bool
}

func (p *goKept) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	return len(b), p.err
}

func (p *goKept) StartSealChunks(key []byte, counter uint64, plain []byte, last bool) func() error {
	if p.batches++; p.batches == p.failAt {
		p.err = errors.New("worker gone")
	}
	if p.err == nil {
		p.buf, p.err = engine.SealChunks(p.buf, slices.Clone(key), counter, plain, last)
	}
	err := p.err
	return func() error { return err }
}

func (p *goKept) Sum(context.Context) ([]byte, error) {
	s := sha256.Sum256(p.buf)
	return s[:], p.err
}

func (p *goKept) Len() int64 { return int64(len(p.buf)) }
func (p *goKept) Release()   { p.released = true }

// With an engine that keeps the payload, the release is its header and the
// kept payload, and opens; should the keeper fail a batch, the payload is
// made again in Go and released where it was kept.
func TestBuildKeptPayload(t *testing.T) {
	ctx := context.Background()
	tech, _ := age.GenerateX25519Identity()
	for _, failAt := range []int{0, 1} {
		in := imgtoolInput(t, tech.Recipient().String())
		k := &keeper{Engine: engine.Go, failAt: failAt}
		in.Image.Engine = k
		b, err := Build(ctx, in, nil, nil)
		if err != nil {
			t.Fatalf("fail at %d: %v", failAt, err)
		}
		if len(k.made) != 1 {
			t.Fatalf("fail at %d: %d payloads kept, want 1", failAt, len(k.made))
		}
		var tfb []byte
		switch {
		case failAt == 0 && (b.Payload == nil || b.Bundle != nil):
			t.Fatalf("the keeper's payload was not used: %+v", b)
		case failAt == 0:
			tfb = append(slices.Clone(b.Head), k.made[0].buf...)
		case b.Payload != nil || b.Bundle == nil || !k.made[0].released:
			t.Fatalf("a failed keeper's payload was used or kept (released %v)", k.made[0].released)
		default:
			tfb = b.Bundle.Bytes()
		}
		if b.Len() != int64(len(tfb)) {
			t.Errorf("fail at %d: Len %d, the .tfb is %d bytes", failAt, b.Len(), len(tfb))
		}
		var img bytes.Buffer
		if _, err := bundle.Open(ctx, &img, bytes.NewReader(tfb), bundle.OpenOptions{
			Trusted: []crypto.PublicKey{in.Key.Public().Crypto()}, Identities: []age.Identity{tech}}); err != nil {
			t.Fatalf("fail at %d: open: %v", failAt, err)
		}
		if !bytes.Equal(img.Bytes(), b.Image.Bytes()) {
			t.Errorf("fail at %d: the release opens to another image", failAt)
		}
		b.Release()
		if !k.made[0].released {
			t.Errorf("fail at %d: Release left the payload kept", failAt)
		}
	}
}
