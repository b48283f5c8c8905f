package provision_test

import (
	"context"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"trustforge/devices/provision"
	"trustforge/devices/smp"
)

// cborBoard answers every request with the same CBOR body, as a broken or
// hostile board might.
type cborBoard struct{ body []byte }

func (b cborBoard) Do(_ context.Context, r smp.Request, resp any) error {
	if resp == nil {
		return nil
	}
	return cbor.Unmarshal(b.body, resp)
}

// FuzzClientAnswers feeds arbitrary answers to every client command: each
// must return a value or an error, never panic or loop.
func FuzzClientAnswers(f *testing.F) {
	for _, v := range []any{
		provision.InfoResponse{ID: []byte{1, 2}, Model: "m", Rev: "A", IDKey: true},
		provision.KeyResponse{Key: make([]byte, 91)},
		provision.CSRResponse{CSR: []byte{0x30, 0}},
		provision.ChainReadResponse{Off: 0, Len: 3, Data: []byte{1, 2, 3}},
		provision.ChainReadResponse{Off: 0, Len: 9, Data: nil},
		provision.OffsetResponse{Off: 1 << 40},
		provision.BootKeyMessage{Hash: make([]byte, 32)},
	} {
		b, err := cbor.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xbf, 0x62, 'i', 'd', 0x41, 0x01, 0xff})
	f.Fuzz(func(t *testing.T, body []byte) {
		ctx := context.Background()
		c := provision.NewClient(cborBoard{body})
		c.Info(ctx)
		c.IdentityKey(ctx)
		c.GenerateIdentityKey(ctx)
		c.CSR(ctx, nil, "")
		c.Chain(ctx)
		c.InstallChain(ctx, make([]byte, 600))
		c.BootKeyHash(ctx)
		c.EncryptionKey(ctx)
		c.ReadEncryptionKey(ctx)
	})
}
