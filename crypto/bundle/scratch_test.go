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
