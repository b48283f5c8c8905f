package bundle

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"testing"

	tfcose "trustforge/crypto/cose"
	"trustforge/internal/cbor"

	"github.com/veraison/go-cose"
)

// The fingerprints are the KEYHASH TLVs imgtool wrote into the images these
// keys signed (imgtool dumpinfo).
func TestKeyFingerprint(t *testing.T) {
	t.Parallel()
	tests := []struct{ key, want string }{
		{"ecdsa-p256.pem", "99df6f3dedb9811234545954e47ae75e21a79d9748f323a71c16fc60aa7d0d9f"},
		{"ed25519.pem", "c1c3e9418cb24f61d6c8fcb2926b60760d9f3f009dd17da72256d2ccfc043077"},
	}
	for _, tt := range tests {
		got, err := KeyFingerprint(signerFromPEM(t, tt.key).Public())
		if err != nil || got != tt.want {
			t.Errorf("KeyFingerprint(%s) = %s, %v; want %s", tt.key, got, err, tt.want)
		}
	}
}

func TestSignVerify(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ key, alg string }{{"ecdsa-p256.pem", "ES256"}, {"ed25519.pem", "EdDSA"}} {
		key := signerFromPEM(t, tt.key)
		m := completeManifest(t)
		s, err := Sign(rand.Reader, m, key)
		if err != nil {
			t.Fatalf("%s: Sign: %v", tt.key, err)
		}
		if s.Algorithm() != tt.alg {
			t.Errorf("%s: Algorithm = %s, want %s", tt.key, s.Algorithm(), tt.alg)
		}
		parsed, err := ParseSigned(s.Bytes())
		if err != nil {
			t.Fatalf("%s: ParseSigned: %v", tt.key, err)
		}
		got, err := parsed.Verify(otherKey().Public(), key.Public())
		if err != nil {
			t.Fatalf("%s: Verify: %v", tt.key, err)
		}
		if got.Product != m.Product || got.Payload != m.Payload {
			t.Errorf("%s: Verify = %+v, want %+v", tt.key, got, m)
		}
		if _, err := parsed.VerifyIntegrity(); err != nil {
			t.Errorf("%s: VerifyIntegrity: %v", tt.key, err)
		}
		if _, err := parsed.Verify(otherKey().Public()); !errors.Is(err, ErrUntrustedKey) {
			t.Errorf("%s: Verify by another key: %v, want ErrUntrustedKey", tt.key, err)
		}
		want, _ := m.encode()
		if parsed.ManifestDigest() != sha256.Sum256(want) {
			t.Errorf("%s: ManifestDigest differs from the manifest's SHA-256", tt.key)
		}
	}
}

// TestVerifyForgeries builds COSE_Sign1 messages that name a trusted key but
// were not made by it, or not as trustforge makes them.
func TestVerifyForgeries(t *testing.T) {
	t.Parallel()
	trusted := signerFromPEM(t, "ecdsa-p256.pem")
	attacker, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := completeManifest(t).encode()
	if err != nil {
		t.Fatal(err)
	}
	spki, _ := x509.MarshalPKIXPublicKey(trusted.Public())
	kid := sha256.Sum256(spki)

	build := func(signer crypto.Signer, protected []byte, unprotected cose.UnprotectedHeader, aad string) []byte {
		t.Helper()
		cs, err := cose.NewSigner(cose.AlgorithmES256, signer)
		if err != nil {
			t.Fatal(err)
		}
		msg := cose.Sign1Message{
			Headers: cose.Headers{
				RawProtected: protected,
				Protected:    cose.ProtectedHeader{cose.HeaderLabelAlgorithm: cose.AlgorithmES256},
				Unprotected:  unprotected,
			},
			Payload: payload,
		}
		if err := msg.Sign(rand.Reader, []byte(aad), cs); err != nil {
			t.Fatal(err)
		}
		b, err := msg.MarshalCBOR()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	goodHeader := protectedHeader(tfcose.ES256, ContentType, kid[:], spki)
	withExtra := func() []byte {
		m := map[int64]any{1: int64(cose.AlgorithmES256), 3: ContentType, 4: kid[:], HeaderLabelSPKI: spki, 99: "x"}
		inner, _ := cbor.MarshalDeterministic(m)
		outer, _ := cbor.MarshalDeterministic(inner)
		return outer
	}()

	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"genuine", build(trusted, goodHeader, cose.UnprotectedHeader{}, SignatureLabel), nil},
		{"signed by another key under the trusted key's name", build(attacker, goodHeader, cose.UnprotectedHeader{}, SignatureLabel), ErrBadSignature},
		{"signed without the domain label", build(trusted, goodHeader, cose.UnprotectedHeader{}, ""), ErrBadSignature},
		{"signed under another label", build(trusted, goodHeader, cose.UnprotectedHeader{}, "trustforge/audit/v1"), ErrBadSignature},
		{"an unprotected header", build(trusted, goodHeader, cose.UnprotectedHeader{cose.HeaderLabelKeyID: []byte("x")}, SignatureLabel), ErrMalformed},
		{"an extra protected header", build(trusted, withExtra, cose.UnprotectedHeader{}, SignatureLabel), ErrMalformed},
		{"untagged", build(trusted, goodHeader, cose.UnprotectedHeader{}, SignatureLabel)[1:], ErrMalformed},
		{"empty", nil, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSigned(tt.b)
			if err == nil {
				_, err = s.Verify(trusted.Public())
			}
			if tt.want == nil {
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSignRefusesKeys(t *testing.T) {
	t.Parallel()
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Sign(rand.Reader, completeManifest(t), p384); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Sign with P-384: %v, want ErrUnsupported", err)
	}
	s, err := Sign(rand.Reader, completeManifest(t), otherKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(struct{}{}); err == nil {
		t.Error("Verify with a trusted key of an unknown type: nil error")
	}
	bad := completeManifest(t)
	bad.Product = ""
	if _, err := Sign(rand.Reader, bad, otherKey()); !errors.Is(err, ErrMalformed) {
		t.Errorf("Sign of an invalid manifest: %v, want ErrMalformed", err)
	}
	if _, err := ParseSigned(bytes.Repeat([]byte{0}, MaxSignedSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ParseSigned of %d bytes: %v, want ErrTooLarge", MaxSignedSize+1, err)
	}
}
