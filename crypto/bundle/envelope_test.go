package bundle

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"
)

var testKind = EnvelopeKind{Name: "test document", ContentType: "application/vnd.trustforge.test+cbor", Label: "trustforge/test/v1"}

func TestEnvelopeRoundTripAndKinds(t *testing.T) {
	for _, name := range []string{"ed25519.pem", "ecdsa-p256.pem"} {
		t.Run(name, func(t *testing.T) {
			key := signerFromPEM(t, name)
			payload := []byte{0xa1, 0x61, 0x61, 0x01} // {"a": 1}
			e, err := SignEnvelope(rand.Reader, testKind, payload, key)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Verify(key.Public())
			if err != nil || !bytes.Equal(got, payload) {
				t.Fatalf("Verify = %x, %v; want %x", got, err, payload)
			}
			if _, err := e.Verify(otherKey().Public()); !errors.Is(err, ErrUntrustedKey) {
				t.Errorf("Verify with another key: %v, want ErrUntrustedKey", err)
			}
			// The same bytes are not a document of another kind, even
			// with the label alone changed.
			if _, err := ParseEnvelope(ManifestKind, e.Bytes()); !errors.Is(err, ErrMalformed) {
				t.Errorf("parsed as a manifest: %v, want ErrMalformed", err)
			}
			relabelled := testKind
			relabelled.Label = "trustforge/test/v2"
			other, err := ParseEnvelope(relabelled, e.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := other.Verify(key.Public()); !errors.Is(err, ErrBadSignature) {
				t.Errorf("verified under another label: %v, want ErrBadSignature", err)
			}
			// Every single-byte change is refused by parsing or verifying.
			raw := e.Bytes()
			for i := range raw {
				b := bytes.Clone(raw)
				b[i] ^= 0x01
				x, err := ParseEnvelope(testKind, b)
				if err == nil {
					_, err = x.Verify(key.Public())
				}
				if err == nil {
					t.Fatalf("byte %d changed: still verifies", i)
				}
			}
			small := testKind
			small.Max = len(raw) - 1
			if _, err := ParseEnvelope(small, raw); !errors.Is(err, ErrTooLarge) {
				t.Errorf("over the kind's bound: %v, want ErrTooLarge", err)
			}
		})
	}
}

func TestStreamRoundTrip(t *testing.T) {
	ctx := context.Background()
	line := identityFromFile(t, "line.agekey")
	tech := identityFromFile(t, "technician.agekey")
	plain := bytes.Repeat([]byte("production package contents "), 10000)
	var ct bytes.Buffer
	info, names, pass, err := EncryptStream(ctx, &ct, bytes.NewReader(plain), Recipients{Keys: []Recipient{line.Recipient()}})
	if err != nil {
		t.Fatal(err)
	}
	if pass || len(names) != 1 || names[0] != line.Recipient().String() || info.Size != int64(ct.Len()) {
		t.Fatalf("EncryptStream reported %+v %v %v", info, names, pass)
	}
	var out bytes.Buffer
	if err := DecryptStream(ctx, &out, bytes.NewReader(ct.Bytes()), info, line); err != nil || !bytes.Equal(out.Bytes(), plain) {
		t.Fatalf("DecryptStream: %v (%d bytes)", err, out.Len())
	}
	if err := DecryptStream(ctx, discard{}, bytes.NewReader(ct.Bytes()), info, tech); !errors.Is(err, ErrNoIdentity) {
		t.Errorf("another identity: %v, want ErrNoIdentity", err)
	}
	for _, cut := range []int{0, 1, 100, ct.Len() / 2, ct.Len() - 1} {
		if err := DecryptStream(ctx, discard{}, bytes.NewReader(ct.Bytes()[:cut]), info, line); !errors.Is(err, ErrPayloadMismatch) {
			t.Errorf("truncated to %d: %v, want ErrPayloadMismatch", cut, err)
		}
	}
	changed := bytes.Clone(ct.Bytes())
	changed[len(changed)/2] ^= 0x80
	if err := DecryptStream(ctx, discard{}, bytes.NewReader(changed), info, line); !errors.Is(err, ErrPayloadMismatch) {
		t.Errorf("altered: %v, want ErrPayloadMismatch", err)
	}
	extended := append(bytes.Clone(ct.Bytes()), 0)
	if err := DecryptStream(ctx, discard{}, bytes.NewReader(extended), info, line); !errors.Is(err, ErrPayloadMismatch) {
		t.Errorf("extended: %v, want ErrPayloadMismatch", err)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
