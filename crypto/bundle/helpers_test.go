package bundle

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"
)

// readTestdata returns a file from testdata.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signerFromPEM parses an imgtool PKCS#8 private key from testdata.
func signerFromPEM(t testing.TB, name string) crypto.Signer {
	t.Helper()
	block, _ := pem.Decode(readTestdata(t, name))
	if block == nil {
		t.Fatalf("%s: no PEM block", name)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return k.(crypto.Signer)
}

// otherKey is an Ed25519 key no bundle in the tests trusts.
func otherKey() crypto.Signer {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
}

// identityFromFile parses an age-keygen identity file from testdata.
func identityFromFile(t testing.TB, name string) *age.X25519Identity {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ids, err := age.ParseIdentities(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ids[0].(*age.X25519Identity)
}

// testManifest returns the caller-provided part of a manifest.
func testManifest() Manifest {
	return Manifest{
		Product:         "thermo-x2",
		Component:       0,
		Version:         Version{Major: 1, Minor: 2, Patch: 3, Build: "4"},
		SecurityCounter: 3,
		Channel:         "stable",
		Hardware:        []string{"thermo-x2-rev-b", "nrf52840dk/nrf52840"},
		Notes:           "Fixes the humidity sensor drift.\n",
	}
}

// fixedNow is the creation time of test bundles.
func fixedNow() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

// imageHeaderFor returns a 32-byte MCUboot header with hdr_size 32 and the
// given payload size.
func imageHeaderFor(payloadSize uint32) []byte {
	h := make([]byte, imageHeaderSize)
	le := binary.LittleEndian
	le.PutUint32(h[0:], imageMagic)
	le.PutUint16(h[8:], imageHeaderSize)
	le.PutUint32(h[12:], payloadSize)
	h[20], h[21] = 1, 2
	le.PutUint16(h[22:], 3)
	le.PutUint32(h[24:], 4)
	return h
}

// tlvArea returns an unprotected TLV area holding a SHA256 TLV.
func tlvArea(sum []byte) []byte {
	a := make([]byte, 8, 8+len(sum))
	le := binary.LittleEndian
	le.PutUint16(a[0:], tlvInfoMagic)
	le.PutUint16(a[2:], uint16(8+len(sum)))
	le.PutUint16(a[4:], tlvTypeSHA256)
	le.PutUint16(a[6:], uint16(len(sum)))
	return append(a, sum...)
}

// makeImage returns a well-formed MCUboot image of about size bytes with a
// random payload.
func makeImage(size int, seed uint64) []byte {
	payload := make([]byte, max(size-imageHeaderSize-8-sha256.Size, 1))
	fillRandom(payload, seed)
	img := append(imageHeaderFor(uint32(len(payload))), payload...)
	sum := sha256.Sum256(img)
	return append(img, tlvArea(sum[:])...)
}

func fillRandom(b []byte, seed uint64) {
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	r.Read(b)
}

// imageStream is a large MCUboot image generated as it is read, so a
// benchmark never holds it: the header, then a pseudo-random payload, then
// the TLVs.
type imageStream struct {
	r       io.Reader
	size    int64
	payload int64
	sum     []byte
}

// newImageStream returns a generator of an image with a payload of n bytes;
// it reads the whole stream once to learn the hash.
func newImageStream(n int64, seed uint64) *imageStream {
	s := &imageStream{payload: n}
	h := sha256.New()
	io.Copy(h, s.prefix(seed))
	s.sum = h.Sum(nil)
	s.size = imageHeaderSize + n + int64(len(tlvArea(s.sum)))
	return s
}

func (s *imageStream) prefix(seed uint64) io.Reader {
	return io.MultiReader(bytes.NewReader(imageHeaderFor(uint32(s.payload))),
		io.LimitReader(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}), s.payload))
}

// open returns a fresh reader of the whole image.
func (s *imageStream) open(seed uint64) io.Reader {
	return io.MultiReader(s.prefix(seed), bytes.NewReader(tlvArea(s.sum)))
}

// createBundle makes a bundle of img for the two testdata identities,
// signed by key.
func createBundle(t testing.TB, img []byte, key crypto.Signer, to Recipients) ([]byte, *Signed) {
	t.Helper()
	var out bytes.Buffer
	s, err := Create(context.Background(), &out, bytes.NewReader(img), testManifest(), CreateOptions{
		Key: key, To: to, Now: fixedNow,
	})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return out.Bytes(), s
}

// testRecipients are the two testdata identities' recipients.
func testRecipients(t testing.TB) Recipients {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "recipients.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rs, err := ParseRecipients(f)
	if err != nil {
		t.Fatal(err)
	}
	return Recipients{Keys: rs}
}

// sealAll seals img as a caller of Seal does: it writes the image into the
// Sealer in pieces, closes it and completes m from its result.
func sealAll(dst io.Writer, img []byte, to Recipients, m *Manifest) error {
	s, err := Seal(dst, *m, to)
	if err != nil {
		return err
	}
	for p := img; len(p) > 0; {
		n := min(len(p), 1000)
		if _, err := s.Write(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	if err := s.Close(); err != nil {
		return err
	}
	*m, err = s.Manifest()
	return err
}
