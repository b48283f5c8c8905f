package bundle

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"io"
	"testing"

	"filippo.io/age"
)

// The Sealer is driven by its caller: what it writes to dst is an age
// payload the manifest from Manifest describes, and Open accepts the
// bundle made of the two.
func TestSealerStream(t *testing.T) {
	t.Parallel()
	img := readTestdata(t, "app-ed25519.signed.bin")
	var payload bytes.Buffer
	s, err := Seal(&payload, testManifest(), testRecipients(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Manifest(); err == nil {
		t.Error("Manifest before Close: nil error")
	}
	// A caller's copy: io.Copy through a reader that hides WriterTo, in
	// pieces of its own size.
	if n, err := io.CopyBuffer(s, struct{ io.Reader }{bytes.NewReader(img)}, make([]byte, 777)); err != nil || n != int64(len(img)) {
		t.Fatalf("copy into the Sealer: %d, %v", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	m, err := s.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Image.Size != int64(len(img)) || m.Payload.Size != int64(payload.Len()) || len(m.Recipients) != 2 || m.Passphrase {
		t.Errorf("manifest image %+v, payload %+v (%d bytes written), recipients %q", m.Image, m.Payload, payload.Len(), m.Recipients)
	}
	if _, err := s.Write([]byte{0}); err == nil {
		t.Error("Write after Close: nil error")
	}

	key := signerFromPEM(t, "ed25519.pem")
	m.Format, m.Created = ManifestFormat, fixedNow() // what Create fills in
	signed, err := Sign(nil, &m, key)
	if err != nil {
		t.Fatal(err)
	}
	var tfb bytes.Buffer
	if err := WriteBundle(context.Background(), &tfb, signed, &payload); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	opts := OpenOptions{Trusted: []crypto.PublicKey{key.Public()}, Identities: []age.Identity{identityFromFile(t, "technician.agekey")}}
	if _, err := Open(context.Background(), &out, &tfb, opts); err != nil {
		t.Fatalf("Open: %v", err)
	}
	if !bytes.Equal(out.Bytes(), img) {
		t.Error("Open gave another image than the one sealed")
	}
}

// A Sealer fails on the Write that shows the content is not an image, and
// keeps failing: no later Write, Close or Manifest succeeds.
func TestSealerFailsEarly(t *testing.T) {
	t.Parallel()
	s, err := Seal(io.Discard, testManifest(), testRecipients(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(bytes.Repeat([]byte{0xff}, 64)); !errors.Is(err, ErrNotImage) {
		t.Fatalf("Write of a bad header: %v, want ErrNotImage", err)
	}
	if _, err := s.Write(make([]byte, 64)); !errors.Is(err, ErrNotImage) {
		t.Errorf("next Write: %v, want ErrNotImage", err)
	}
	if err := s.Close(); !errors.Is(err, ErrNotImage) {
		t.Errorf("Close: %v, want ErrNotImage", err)
	}
	if _, err := s.Manifest(); !errors.Is(err, ErrNotImage) {
		t.Errorf("Manifest: %v, want ErrNotImage", err)
	}
}

// age's own error stays in the chain beside the package's sentinel, so a
// caller can ask age which identities were tried.
func TestNoIdentityKeepsAgeError(t *testing.T) {
	t.Parallel()
	img := makeImage(1000, 3)
	tfb, s := createBundle(t, img, signerFromPEM(t, "ed25519.pem"), testRecipients(t))
	m, err := s.Verify(signerFromPEM(t, "ed25519.pem").Public())
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	payload := tfb[HeaderSize+len(s.Bytes()):]
	for name, decrypt := range map[string]func() error{
		"Decrypt": func() error {
			return Decrypt(context.Background(), io.Discard, bytes.NewReader(payload), m, stranger)
		},
		"DecryptStream": func() error {
			return DecryptStream(context.Background(), io.Discard, bytes.NewReader(payload), m.Payload, stranger)
		},
	} {
		err := decrypt()
		if !errors.Is(err, ErrNoIdentity) {
			t.Errorf("%s with a stranger's identity: %v, want ErrNoIdentity", name, err)
		}
		var nomatch *age.NoIdentityMatchError
		if !errors.As(err, &nomatch) {
			t.Errorf("%s: %v does not hold *age.NoIdentityMatchError", name, err)
		}
	}
}
