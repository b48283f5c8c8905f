package cose

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	gocose "github.com/veraison/go-cose"
)

func testKeys(t testing.TB) map[Algorithm]crypto.Signer {
	t.Helper()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(bytes.NewReader(make([]byte, 32)))
	if err != nil {
		t.Fatal(err)
	}
	return map[Algorithm]crypto.Signer{ES256: ec, EdDSA: ed}
}

func header(alg Algorithm) []byte {
	return AppendHeader(nil, map[int64]any{HeaderAlgorithm: int64(alg), HeaderContentType: "application/x", HeaderKeyID: []byte("kid"), -65537: []byte("spki")})
}

// signerOnly hides a key's concrete type, as a key in a browser's key
// store would.
type signerOnly struct{ crypto.Signer }

func TestSignVerify(t *testing.T) {
	t.Parallel()
	for alg, key := range testKeys(t) {
		for _, k := range []crypto.Signer{key, signerOnly{key}} {
			t.Run(alg.String(), func(t *testing.T) {
				m := Sign1{Protected: header(alg), Payload: []byte("payload")}
				if err := m.Sign(nil, []byte("label/v1"), k); err != nil {
					t.Fatal(err)
				}
				b := m.Marshal()
				got, err := Parse(b)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, &m) {
					t.Fatalf("parsed %+v, want %+v", got, m)
				}
				if err := got.Verify([]byte("label/v1"), key.Public()); err != nil {
					t.Errorf("Verify: %v", err)
				}
				for name, bad := range map[string]func() error{
					"another label": func() error { return got.Verify([]byte("label/v2"), key.Public()) },
					"no label":      func() error { return got.Verify(nil, key.Public()) },
					"another payload": func() error {
						c := *got
						c.Payload = []byte("payloaD")
						return c.Verify([]byte("label/v1"), key.Public())
					},
					"another header": func() error {
						c := *got
						c.Protected = header(alg)[:len(c.Protected)-1]
						return c.Verify([]byte("label/v1"), key.Public())
					},
					"short signature": func() error {
						c := *got
						c.Signature = c.Signature[1:]
						return c.Verify([]byte("label/v1"), key.Public())
					},
				} {
					if err := bad(); !errors.Is(err, ErrVerification) {
						t.Errorf("%s: %v, want ErrVerification", name, err)
					}
				}
			})
		}
	}
}

// TestGoCOSE checks the messages against another implementation: each
// verifies the other's, the encodings are the same, and Ed25519's
// deterministic signatures are byte for byte the same.
func TestGoCOSE(t *testing.T) {
	t.Parallel()
	for alg, key := range testKeys(t) {
		t.Run(alg.String(), func(t *testing.T) {
			galg := gocose.Algorithm(alg)
			ours := Sign1{Protected: header(alg), Payload: []byte("payload")}
			if err := ours.Sign(rand.Reader, []byte("aad"), key); err != nil {
				t.Fatal(err)
			}
			var theirs gocose.Sign1Message
			if err := theirs.UnmarshalCBOR(ours.Marshal()); err != nil {
				t.Fatalf("go-cose cannot parse our message: %v", err)
			}
			v, err := gocose.NewVerifier(galg, key.Public())
			if err != nil {
				t.Fatal(err)
			}
			if err := theirs.Verify([]byte("aad"), v); err != nil {
				t.Errorf("go-cose does not verify our message: %v", err)
			}
			signer, err := gocose.NewSigner(galg, key)
			if err != nil {
				t.Fatal(err)
			}
			prot, _ := cbor.Marshal(ours.Protected)
			msg := gocose.Sign1Message{
				Headers: gocose.Headers{RawProtected: prot, Protected: gocose.ProtectedHeader{gocose.HeaderLabelAlgorithm: galg}, Unprotected: gocose.UnprotectedHeader{}},
				Payload: []byte("payload"),
			}
			if err := msg.Sign(rand.Reader, []byte("aad"), signer); err != nil {
				t.Fatal(err)
			}
			b, err := msg.MarshalCBOR()
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(b)
			if err != nil {
				t.Fatalf("go-cose's message: %v", err)
			}
			if err := got.Verify([]byte("aad"), key.Public()); err != nil {
				t.Errorf("go-cose's message does not verify: %v", err)
			}
			if !bytes.Equal(got.Marshal(), b) {
				t.Errorf("encodings differ:\n ours %x\ngo-cose %x", got.Marshal(), b)
			}
			if alg == EdDSA && !bytes.Equal(got.Signature, ours.Signature) {
				t.Errorf("Ed25519 signatures differ")
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	good := (&Sign1{Protected: []byte{0xa1, 0x01, 0x26}, Payload: []byte("p"), Signature: bytes.Repeat([]byte{7}, 64)}).Marshal()
	if _, err := Parse(good); err != nil {
		t.Fatal(err)
	}
	for n := range len(good) {
		if _, err := Parse(good[:n]); err == nil {
			t.Errorf("Parse of the first %d of %d bytes: nil error", n, len(good))
		}
	}
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"untagged", good[1:], "tagged"},
		{"another tag", append([]byte{0xd8, 0x62}, good[1:]...), "tagged"},
		{"three elements", append([]byte{0xd2, 0x83}, good[2:]...), "four"},
		{"indefinite array", append([]byte{0xd2, 0x9f}, good[2:]...), "four"},
		{"unprotected header", []byte{0xd2, 0x84, 0x40, 0xa1, 0x04, 0x40, 0x40, 0x40}, "unprotected"},
		{"detached payload", []byte{0xd2, 0x84, 0x40, 0xa0, 0xf6, 0x40}, "detached"},
		{"long form of a short length", []byte{0xd2, 0x84, 0x58, 0x01, 0x00, 0xa0, 0x40, 0x40}, "shortest"},
		{"indefinite byte string", []byte{0xd2, 0x84, 0x5f, 0x41, 0x00, 0xff, 0xa0, 0x40, 0x40}, "indefinite"},
		{"text payload", []byte{0xd2, 0x84, 0x40, 0xa0, 0x60, 0x40}, "payload is not a byte string"},
		{"length past the end", []byte{0xd2, 0x84, 0x40, 0xa0, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "truncated"},
		{"trailing byte", append(bytes.Clone(good), 0), "after the message"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Parse(c.b); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want one saying %q", err, c.want)
			}
		})
	}
}

func TestHeader(t *testing.T) {
	t.Parallel()
	em, err := cbor.EncOptions{Sort: cbor.SortCoreDeterministic}.EncMode()
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []map[int64]any{
		{},
		{1: int64(-7)},
		{1: int64(-8), 3: "application/vnd.trustforge.manifest+cbor", 4: bytes.Repeat([]byte{1}, 32), -65537: bytes.Repeat([]byte{2}, 91)},
		{-1: int64(1 << 40), 23: "", 24: []byte{}, 255: int64(-256), 256: "x", -65536: int64(-9223372036854775808), 9223372036854775807: []byte("y")},
	} {
		got := AppendHeader(nil, h)
		want, err := em.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("AppendHeader(%v)\n got %x\nwant %x (core deterministic)", h, got, want)
		}
		back, err := ParseHeader(got)
		if err != nil || !reflect.DeepEqual(back, h) && len(h) > 0 {
			t.Errorf("ParseHeader(AppendHeader(%v)) = %v, %v", h, back, err)
		}
	}
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"not a map", []byte{0x80}, "not a map"},
		{"indefinite map", []byte{0xbf, 0xff}, "indefinite"},
		{"repeated label", []byte{0xa2, 0x01, 0x26, 0x01, 0x27}, "repeated"},
		{"text label", []byte{0xa1, 0x61, 0x61, 0x01}, "label"},
		{"float value", []byte{0xa1, 0x01, 0xf9, 0x3c, 0x00}, "major type 7"},
		{"array value", []byte{0xa1, 0x01, 0x80}, "major type 4"},
		{"tagged value", []byte{0xa1, 0x01, 0xc1, 0x00}, "major type 6"},
		{"invalid UTF-8", []byte{0xa1, 0x03, 0x61, 0xff}, "UTF-8"},
		{"integer out of range", []byte{0xa1, 0x01, 0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0}, "out of range"},
		{"too many", append([]byte{0xb1}, bytes.Repeat([]byte{0x01, 0x01}, 17)...), "at most"},
		{"trailing byte", []byte{0xa1, 0x01, 0x26, 0x00}, "after"},
		{"truncated", []byte{0xa1, 0x01}, "truncated"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := ParseHeader(c.b); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want one saying %q", err, c.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add((&Sign1{Protected: header(ES256), Payload: []byte("p"), Signature: make([]byte, 64)}).Marshal())
	f.Add((&Sign1{Protected: []byte{0xa0}, Payload: make([]byte, 300), Signature: make([]byte, 70000)}).Marshal())
	f.Add([]byte{0xd2, 0x84, 0x40, 0xa0, 0xf6, 0x40})
	f.Add([]byte{0xd2, 0x84, 0x58, 0x01, 0x00, 0xa0, 0x40, 0x40})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		if !bytes.Equal(m.Marshal(), b) {
			t.Fatalf("Parse accepted %x, which Marshal writes as %x", b, m.Marshal())
		}
	})
}

func FuzzParseHeader(f *testing.F) {
	f.Add(header(EdDSA))
	f.Add([]byte{0xa2, 0x01, 0x26, 0x01, 0x27})
	f.Add([]byte{0xa2, 0x03, 0x01, 0x01, 0x26})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err != nil {
			return
		}
		again := AppendHeader(nil, h)
		back, err := ParseHeader(again)
		if err != nil {
			t.Fatalf("ParseHeader(AppendHeader(%v)): %v", h, err)
		}
		if !reflect.DeepEqual(back, h) {
			t.Fatalf("header %v came back as %v", h, back)
		}
		if len(again) != len(b) {
			t.Fatalf("%x and its deterministic encoding %x differ in length", b, again)
		}
	})
}

// BenchmarkSign1 signs and verifies an envelope with a manifest-sized
// payload with each algorithm, as the console does once per release,
// production package, ticket or provisioned board. e2e's
// BenchmarkSignaturesChromium runs it in Chromium and natively, to show
// what handing signatures to WebCrypto could save.
func BenchmarkSign1(b *testing.B) {
	keys := testKeys(b)
	payload := bytes.Repeat([]byte{0xa5}, 2048)
	for _, alg := range []Algorithm{ES256, EdDSA} {
		key := keys[alg]
		m := &Sign1{Protected: header(alg), Payload: payload}
		if err := m.Sign(rand.Reader, nil, key); err != nil {
			b.Fatal(err)
		}
		b.Run(alg.String()+"/sign", func(b *testing.B) {
			for b.Loop() {
				s := &Sign1{Protected: header(alg), Payload: payload}
				if err := s.Sign(rand.Reader, nil, key); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg.String()+"/verify", func(b *testing.B) {
			for b.Loop() {
				if err := m.Verify(nil, key.Public()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
