//go:build js && wasm

package browser

import (
	"bytes"
	"context"
	"testing"

	"github.com/hack-pad/safejs"
)

// bodyBytes reads back what bodyToJS made: a Uint8Array or a Blob.
func bodyBytes(t *testing.T, v safejs.Value) []byte {
	t.Helper()
	blobCtor, _ := safejs.Global().Get("Blob")
	if ok, _ := v.InstanceOf(blobCtor); ok {
		p, err := Call(v, "arrayBuffer")
		if err != nil {
			t.Fatal(err)
		}
		if v, err = Await(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	b, err := BytesFromJS(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBodyToJSJoinsParts(t *testing.T) {
	whole := make([]byte, 3*blobPiece+777)
	for i := range whole {
		whole[i] = byte(i*31 + i>>11)
	}
	for _, tc := range []struct {
		name  string
		sizes []int // the parts' lengths, in order; the rest of whole last
	}{
		{"one short part", nil},
		{"short parts", []int{10, 0, 300}},
		{"one long part", nil},
		{"parts of a piece", []int{blobPiece, blobPiece, blobPiece}},
		{"parts across pieces", []int{blobPiece - 1, 2, blobPiece + 5, 1}},
		{"a part longer than a piece", []int{2*blobPiece + 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := whole
			if tc.name == "one short part" || tc.name == "short parts" {
				want = whole[:blobPiece/2]
			}
			var parts [][]byte
			rest := want
			for _, n := range tc.sizes {
				parts = append(parts, rest[:n])
				rest = rest[n:]
			}
			parts = append(parts, rest)
			v, err := bodyToJS(context.Background(), parts)
			if err != nil {
				t.Fatal(err)
			}
			if got := bodyBytes(t, v); !bytes.Equal(got, want) {
				t.Errorf("body of %d bytes differs from the %d given in %d parts", len(got), len(want), len(parts))
			}
		})
	}
}
