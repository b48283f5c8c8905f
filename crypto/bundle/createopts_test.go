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

// flakyScratch is scratch memory whose reads can flip a byte of what was
// written, as a damaged disk would.
type flakyScratch struct {
	buf  []byte
	off  int
	flip int // the byte flipped on reading, counted from the first write; -1: none
}

func (s *flakyScratch) Write(p []byte) (int, error) {
	s.buf = append(s.buf[:s.off], p...)
	s.off = len(s.buf)
	return len(p), nil
}

func (s *flakyScratch) Read(p []byte) (int, error) {
	if s.off >= len(s.buf) {
		return 0, io.EOF
	}
	n := copy(p, s.buf[s.off:])
	if s.flip >= s.off && s.flip < s.off+n {
		p[s.flip-s.off] ^= 1
	}
	s.off += n
	return n, nil
}

func (s *flakyScratch) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		s.off = int(off)
	case io.SeekCurrent:
		s.off += int(off)
	default:
		return 0, errors.New("flakyScratch: SeekEnd")
	}
	return int64(s.off), nil
}

// A payload copied out of a Scratch is checked against the hash taken as
// it was written, unless the caller says the scratch is its own memory;
// either way the bundle opens.
func TestScratchChecked(t *testing.T) {
	t.Parallel()
	img := readTestdata(t, "app-ed25519.signed.bin")
	key := signerFromPEM(t, "ed25519.pem")
	for _, inMemory := range []bool{false, true} {
		var out bytes.Buffer
		_, err := Create(context.Background(), &out, bytes.NewReader(img), testManifest(), CreateOptions{
			Key: key, To: testRecipients(t), Now: fixedNow, Scratch: &flakyScratch{flip: -1}, ScratchInMemory: inMemory,
		})
		if err != nil {
			t.Fatalf("in memory %v: %v", inMemory, err)
		}
		var plain bytes.Buffer
		if _, err := Open(context.Background(), &plain, &out, OpenOptions{
			Trusted:    []crypto.PublicKey{key.Public()},
			Identities: []age.Identity{identityFromFile(t, "technician.agekey")},
		}); err != nil {
			t.Fatalf("in memory %v: open: %v", inMemory, err)
		}
		if !bytes.Equal(plain.Bytes(), img) {
			t.Errorf("in memory %v: the bundle opens to other bytes", inMemory)
		}
	}
	_, err := Create(context.Background(), io.Discard, bytes.NewReader(img), testManifest(), CreateOptions{
		Key: key, To: testRecipients(t), Now: fixedNow, Scratch: &flakyScratch{flip: 1000},
	})
	if !errors.Is(err, ErrPayloadMismatch) {
		t.Errorf("a scratch that changed the payload: %v, want ErrPayloadMismatch", err)
	}
}

// An image the caller vouches for (it has just signed it) is checked
// against the size and SHA256 TLV the caller gives, not hashed again; the
// bundle still opens, and a TLV other than the caller's is refused.
func TestImageSigned(t *testing.T) {
	t.Parallel()
	img := readTestdata(t, "app-ed25519.signed.bin")
	info, err := imageResult(img, len(img))
	if err != nil {
		t.Fatal(err)
	}
	key := signerFromPEM(t, "ed25519.pem")
	create := func(m Manifest) error {
		var out bytes.Buffer
		if _, err := Create(context.Background(), &out, bytes.NewReader(img), m, CreateOptions{
			Key: key, To: testRecipients(t), Now: fixedNow, ImageSigned: true,
		}); err != nil {
			return err
		}
		var plain bytes.Buffer
		if _, err := Open(context.Background(), &plain, &out, OpenOptions{
			Trusted:    []crypto.PublicKey{key.Public()},
			Identities: []age.Identity{identityFromFile(t, "technician.agekey")},
		}); err != nil {
			t.Fatalf("open: %v", err)
		}
		if !bytes.Equal(plain.Bytes(), img) {
			t.Error("the bundle opens to other bytes")
		}
		return nil
	}
	m := testManifest()
	m.Image = info
	if err := create(m); err != nil {
		t.Fatalf("the image as signed: %v", err)
	}
	m.Image.SHA256[0] ^= 1
	if err := create(m); !errors.Is(err, ErrImageMismatch) {
		t.Errorf("another SHA256 than the image's TLV: %v, want ErrImageMismatch", err)
	}
	m.Image = info
	m.Image.Size++
	if err := create(m); !errors.Is(err, ErrImageMismatch) {
		t.Errorf("another size than the image's: %v, want ErrImageMismatch", err)
	}
	if err := create(testManifest()); err == nil {
		t.Error("ImageSigned without the image's TLV: nil error")
	}
}
