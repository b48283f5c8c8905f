package bundle

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"io"
	"strings"
	"testing"

	"filippo.io/age"
)

func TestCreateOpenRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		image string
		key   string
	}{
		{"ecdsa-signed image, ES256 manifest", "app-ecdsa-p256.signed.bin", "ecdsa-p256.pem"},
		{"ed25519-signed image, EdDSA manifest", "app-ed25519.signed.bin", "ed25519.pem"},
		{"image encrypted to the device", "app-ed25519-encx25519.signed.bin", "ed25519.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			img := readTestdata(t, tt.image)
			key := signerFromPEM(t, tt.key)
			tfb, s := createBundle(t, img, key, testRecipients(t))

			for _, idFile := range []string{"technician.agekey", "line.agekey"} {
				var out bytes.Buffer
				m, err := Open(context.Background(), &out, bytes.NewReader(tfb), OpenOptions{
					Trusted:    []crypto.PublicKey{otherKey().Public(), key.Public()},
					Identities: []age.Identity{identityFromFile(t, idFile)},
				})
				if err != nil {
					t.Fatalf("Open with %s: %v", idFile, err)
				}
				if !bytes.Equal(out.Bytes(), img) {
					t.Fatalf("Open with %s: got %d bytes, want the %d-byte image", idFile, out.Len(), len(img))
				}
				if m.Image.Size != int64(len(img)) || m.Product != "thermo-x2" || m.Version.String() != "1.2.3+4" {
					t.Errorf("manifest = %+v", m)
				}
				if got, want := m.Created, fixedNow(); !got.Equal(want) {
					t.Errorf("Created = %v, want %v", got, want)
				}
			}
			fp, err := KeyFingerprint(key.Public())
			if err != nil {
				t.Fatal(err)
			}
			if s.KeyID() != fp {
				t.Errorf("KeyID = %s, want %s", s.KeyID(), fp)
			}
		})
	}
}

// The SHA256 TLV values below are imgtool dumpinfo's.
func TestSealRecordsImageTLV(t *testing.T) {
	t.Parallel()
	tests := []struct {
		image, sha256 string
	}{
		{"app-ecdsa-p256.signed.bin", "76a356a87ca01a018cfb19aa0055713b647727a15d4a8df80d2aada03ee9e4e3"},
		{"app-ed25519.signed.bin", "76a356a87ca01a018cfb19aa0055713b647727a15d4a8df80d2aada03ee9e4e3"},
		{"app-ed25519-encx25519.signed.bin", "f947088da86875b902fb6f1f164d3ec1401662b338c44b55c38a3fd7417df08e"},
	}
	for _, tt := range tests {
		img := readTestdata(t, tt.image)
		m := testManifest()
		if err := sealAll(io.Discard, img, testRecipients(t), &m); err != nil {
			t.Fatalf("%s: Seal: %v", tt.image, err)
		}
		if got := m.Image.SHA256.String(); got != tt.sha256 {
			t.Errorf("%s: image SHA256 = %s, want %s", tt.image, got, tt.sha256)
		}
		if m.Image.Size != int64(len(img)) {
			t.Errorf("%s: image size = %d, want %d", tt.image, m.Image.Size, len(img))
		}
		if len(m.Recipients) != 2 || m.Passphrase {
			t.Errorf("%s: recipients = %q, passphrase = %v", tt.image, m.Recipients, m.Passphrase)
		}
	}
}

// TestPayloadIsAnAgeFile checks that the payload part is a plain age file:
// age's own Decrypt opens it with an identity from an age-keygen file.
func TestPayloadIsAnAgeFile(t *testing.T) {
	t.Parallel()
	img := readTestdata(t, "app-ed25519.signed.bin")
	tfb, s := createBundle(t, img, signerFromPEM(t, "ed25519.pem"), testRecipients(t))
	payload := tfb[HeaderSize+len(s.Bytes()):]

	r, err := age.Decrypt(bytes.NewReader(payload), identityFromFile(t, "technician.agekey"))
	if err != nil {
		t.Fatalf("age.Decrypt: %v", err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("age.Decrypt: %v", err)
	}
	if !bytes.Equal(got, img) {
		t.Fatalf("age.Decrypt: got %d bytes, want the %d-byte image", len(got), len(img))
	}
}

// TestSeparateParts checks the manifest and payload parts on their own, as
// the server stores and serves them.
func TestSeparateParts(t *testing.T) {
	t.Parallel()
	key := signerFromPEM(t, "ecdsa-p256.pem")
	img := readTestdata(t, "app-ecdsa-p256.signed.bin")
	tfb, s := createBundle(t, img, key, testRecipients(t))
	manifestPart := tfb[HeaderSize : HeaderSize+len(s.Bytes())]
	payloadPart := tfb[HeaderSize+len(s.Bytes()):]

	s2, err := ParseSigned(manifestPart)
	if err != nil {
		t.Fatalf("ParseSigned: %v", err)
	}
	m, err := s2.Verify(key.Public())
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if n, err := io.Copy(io.Discard, NewPayloadReader(bytes.NewReader(payloadPart), m)); err != nil || n != m.Payload.Size {
		t.Fatalf("PayloadReader: %d bytes, %v; want %d, nil", n, err, m.Payload.Size)
	}
	v := NewPayloadVerifier(m)
	v.Write(payloadPart[:10])
	v.Write(payloadPart[10:])
	if err := v.Check(); err != nil {
		t.Fatalf("PayloadVerifier.Check: %v", err)
	}
	var out bytes.Buffer
	if err := Decrypt(context.Background(), &out, bytes.NewReader(payloadPart), m, identityFromFile(t, "line.agekey")); err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	if !bytes.Equal(out.Bytes(), img) {
		t.Fatal("Decrypt: image differs")
	}

	// Reassembled from its parts, the bundle is byte for byte the same.
	var again bytes.Buffer
	if err := WriteBundle(context.Background(), &again, s2, bytes.NewReader(payloadPart)); err != nil {
		t.Fatalf("WriteBundle: %v", err)
	}
	if !bytes.Equal(again.Bytes(), tfb) {
		t.Fatal("WriteBundle: reassembled bundle differs")
	}
	// ...and refuses a payload that is not the manifest's.
	other := bytes.Clone(payloadPart)
	other[len(other)-1] ^= 1
	if err := WriteBundle(context.Background(), io.Discard, s2, bytes.NewReader(other)); !errors.Is(err, ErrPayloadMismatch) {
		t.Fatalf("WriteBundle of another payload: %v, want ErrPayloadMismatch", err)
	}
}

func TestPassphrase(t *testing.T) {
	t.Parallel()
	img := makeImage(3000, 1)
	key := signerFromPEM(t, "ed25519.pem")
	tfb, _ := createBundle(t, img, key, Recipients{Passphrase: "correct horse battery staple", WorkFactor: 10})

	open := func(pass string) ([]byte, *Manifest, error) {
		id, err := PassphraseIdentity(pass)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		m, err := Open(context.Background(), &out, bytes.NewReader(tfb), OpenOptions{
			Trusted: []crypto.PublicKey{key.Public()}, Identities: []age.Identity{id},
		})
		return out.Bytes(), m, err
	}
	got, m, err := open("correct horse battery staple")
	if err != nil {
		t.Fatalf("Open with the passphrase: %v", err)
	}
	if !bytes.Equal(got, img) || !m.Passphrase || len(m.Recipients) != 0 {
		t.Fatalf("Open with the passphrase: image equal = %v, manifest %+v", bytes.Equal(got, img), m)
	}
	if _, _, err := open("wrong horse"); !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("Open with a wrong passphrase: %v, want ErrNoIdentity", err)
	}
}

// TestPassphraseWorkFactorBound checks that a payload asking for more
// scrypt work than MaxWorkFactor is refused before any is done, and that
// Seal will not make one.
func TestPassphraseWorkFactorBound(t *testing.T) {
	t.Parallel()
	img := makeImage(500, 13)
	m := testManifest()
	to := Recipients{Passphrase: "pw", WorkFactor: MaxWorkFactor + 1}
	if err := sealAll(io.Discard, img, to, &m); err == nil {
		t.Fatalf("Seal with work factor %d: nil error", MaxWorkFactor+1)
	}

	// Someone without the signing key changes the payload's scrypt stanza
	// to ask for 2^22 (4 GiB). Opening must not try.
	tfb, s := createBundle(t, img, signerFromPEM(t, "ed25519.pem"), Recipients{Passphrase: "pw", WorkFactor: 10})
	start := HeaderSize + len(s.Bytes())
	stanza := bytes.Index(tfb[start:], []byte("-> scrypt "))
	end := bytes.IndexByte(tfb[start+stanza:], '\n')
	if stanza < 0 || end < 0 || !bytes.HasSuffix(tfb[start+stanza:start+stanza+end], []byte(" 10")) {
		t.Fatal("no scrypt stanza at work factor 10 in the payload")
	}
	swapped := bytes.Clone(tfb)
	copy(swapped[start+stanza+end-2:], "22")
	id, err := PassphraseIdentity("pw")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := age.Decrypt(bytes.NewReader(swapped[start:]), id); err == nil || !strings.Contains(err.Error(), "work factor") {
		t.Fatalf("age.Decrypt with PassphraseIdentity at work factor 22: %v, want a work factor refusal", err)
	}
	_, err = Open(context.Background(), io.Discard, bytes.NewReader(swapped), OpenOptions{
		Trusted: []crypto.PublicKey{signerFromPEM(t, "ed25519.pem").Public()}, Identities: []age.Identity{id},
	})
	if !errors.Is(err, ErrPayloadMismatch) {
		t.Fatalf("Open of a payload at work factor 22: %v, want ErrPayloadMismatch", err)
	}
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	key := signerFromPEM(t, "ecdsa-p256.pem")
	img := makeImage(2000, 2)
	tfb, s := createBundle(t, img, key, testRecipients(t))
	stranger, _ := age.GenerateX25519Identity()
	payloadStart := HeaderSize + len(s.Bytes())

	tests := []struct {
		name    string
		tfb     []byte
		trusted []crypto.PublicKey
		id      age.Identity
		want    error
	}{
		{"untrusted signer", tfb, []crypto.PublicKey{otherKey().Public()}, identityFromFile(t, "line.agekey"), ErrUntrustedKey},
		{"no trusted keys", tfb, nil, identityFromFile(t, "line.agekey"), ErrUntrustedKey},
		{"wrong identity", tfb, []crypto.PublicKey{key.Public()}, stranger, ErrNoIdentity},
		{"trailing byte", append(bytes.Clone(tfb), 0), []crypto.PublicKey{key.Public()}, identityFromFile(t, "line.agekey"), ErrPayloadMismatch},
		{"payload swapped for another age file", swapPayload(t, tfb, payloadStart, img), []crypto.PublicKey{key.Public()}, identityFromFile(t, "line.agekey"), ErrPayloadMismatch},
		{"empty", nil, []crypto.PublicKey{key.Public()}, identityFromFile(t, "line.agekey"), ErrTruncated},
		{"not a bundle", []byte(strings.Repeat("age-encryption.org/v1\n", 3)), []crypto.PublicKey{key.Public()}, identityFromFile(t, "line.agekey"), ErrNotBundle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := Open(context.Background(), &out, bytes.NewReader(tt.tfb), OpenOptions{
				Trusted: tt.trusted, Identities: []age.Identity{tt.id},
			})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open: %v, want %v", err, tt.want)
			}
		})
	}
}

// swapPayload replaces a bundle's payload with a new age file of the same
// image to the same recipients: valid age, but not the signed payload.
func swapPayload(t *testing.T, tfb []byte, start int, img []byte) []byte {
	t.Helper()
	var payload bytes.Buffer
	m := testManifest()
	if err := sealAll(&payload, img, testRecipients(t), &m); err != nil {
		t.Fatal(err)
	}
	return append(bytes.Clone(tfb[:start]), payload.Bytes()...)
}

// TestEveryByteFlipped changes each byte of a small bundle in turn and
// checks that Open fails with the error for the region changed.
func TestEveryByteFlipped(t *testing.T) {
	t.Parallel()
	key := signerFromPEM(t, "ed25519.pem")
	img := makeImage(600, 3)
	tfb, s := createBundle(t, img, key, testRecipients(t))
	id := identityFromFile(t, "technician.agekey")
	payloadStart := HeaderSize + len(s.Bytes())

	want := func(i int) []error {
		switch {
		case i < len(Magic):
			return []error{ErrNotBundle}
		case i < len(Magic)+2:
			return []error{ErrUnsupported}
		case i < HeaderSize:
			// A changed length makes the manifest end early or late.
			return []error{ErrTooLarge, ErrTruncated, ErrMalformed}
		case i < payloadStart:
			// The kid names another key, the encoding breaks, or the
			// signature fails.
			return []error{ErrMalformed, ErrUnsupported, ErrUntrustedKey, ErrBadSignature}
		}
		return []error{ErrPayloadMismatch}
	}
	counts := map[string]int{}
	for i := range tfb {
		for _, flip := range []byte{0x01, 0x80} {
			bad := bytes.Clone(tfb)
			bad[i] ^= flip
			var out bytes.Buffer
			_, err := Open(context.Background(), &out, bytes.NewReader(bad), OpenOptions{
				Trusted: []crypto.PublicKey{key.Public()}, Identities: []age.Identity{id},
			})
			ok := false
			for _, w := range want(i) {
				if errors.Is(err, w) {
					ok = true
					counts[w.Error()]++
				}
			}
			if !ok {
				t.Fatalf("byte %d ^ %#x: Open: %v, want one of %v", i, flip, err, want(i))
			}
		}
	}
	t.Logf("%d bytes, errors: %v", len(tfb), counts)
}

// TestEveryTruncation cuts a bundle at every length and checks that Open
// fails.
func TestEveryTruncation(t *testing.T) {
	t.Parallel()
	key := signerFromPEM(t, "ed25519.pem")
	tfb, s := createBundle(t, makeImage(400, 4), key, testRecipients(t))
	id := identityFromFile(t, "technician.agekey")
	for n := 0; n < len(tfb); n++ {
		_, err := Open(context.Background(), io.Discard, bytes.NewReader(tfb[:n]), OpenOptions{
			Trusted: []crypto.PublicKey{key.Public()}, Identities: []age.Identity{id},
		})
		want := ErrPayloadMismatch
		if n < HeaderSize+len(s.Bytes()) {
			want = ErrTruncated
		}
		if !errors.Is(err, want) {
			t.Fatalf("cut at %d of %d: Open: %v, want %v", n, len(tfb), err, want)
		}
	}
}

func TestSealRefuses(t *testing.T) {
	t.Parallel()
	img := makeImage(1000, 5)
	badHash := bytes.Clone(img)
	badHash[100] ^= 1
	noTLVs := img[:len(img)-40]

	tests := []struct {
		name  string
		image []byte
		given ImageInfo
		to    Recipients
		want  error
	}{
		{"not an image", bytes.Repeat([]byte{0xff}, 1000), ImageInfo{}, testRecipients(t), ErrNotImage},
		{"contents differ from the SHA256 TLV", badHash, ImageInfo{}, testRecipients(t), ErrNotImage},
		{"no TLVs", noTLVs, ImageInfo{}, testRecipients(t), ErrNotImage},
		{"another image than the one parsed", img, ImageInfo{Size: int64(len(img)), SHA256: Digest{1}}, testRecipients(t), ErrImageMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testManifest()
			m.Image = tt.given
			err := sealAll(io.Discard, tt.image, tt.to, &m)
			if !errors.Is(err, tt.want) {
				t.Fatalf("sealing: %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("passphrase with recipients", func(t *testing.T) {
		to := testRecipients(t)
		to.Passphrase = "x"
		m := testManifest()
		if err := sealAll(io.Discard, img, to, &m); err == nil {
			t.Fatal("Seal: nil error, want a refusal")
		}
	})
}

func TestContextCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Create(ctx, io.Discard, bytes.NewReader(makeImage(1000, 6)), testManifest(),
		CreateOptions{Key: signerFromPEM(t, "ed25519.pem"), To: testRecipients(t)})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Create with a cancelled context: %v, want context.Canceled", err)
	}
}

// TestPayloadSizeReader: a reader that checks a payload's size and leaves
// its digest to the caller refuses a payload one byte too long at once and
// one byte too short at its end, and the caller's digest decides the rest:
// the payload's own passes, another's (same size, one byte changed) fails.
func TestPayloadSizeReader(t *testing.T) {
	t.Parallel()
	key := signerFromPEM(t, "ecdsa-p256.pem")
	img := readTestdata(t, "app-ecdsa-p256.signed.bin")
	tfb, s := createBundle(t, img, key, testRecipients(t))
	payload := tfb[HeaderSize+len(s.Bytes()):]
	m, err := s.Verify(key.Public())
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	altered := bytes.Clone(payload)
	altered[len(altered)/2] ^= 1
	tests := []struct {
		name    string
		bytes   []byte
		readErr bool // the read itself fails
		okSum   bool // CheckDigest passes
	}{
		{"exact", payload, false, true},
		{"altered", altered, false, false},
		{"truncated", payload[:len(payload)-1], true, false},
		{"extended", append(bytes.Clone(payload), 0), true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr := NewPayloadSizeReader(bytes.NewReader(tt.bytes), m)
			h := sha256.New()
			_, err := io.Copy(h, pr)
			if (err != nil) != tt.readErr {
				t.Fatalf("read: %v, want an error: %v", err, tt.readErr)
			}
			if err != nil && !errors.Is(err, ErrPayloadMismatch) {
				t.Fatalf("read: %v, want ErrPayloadMismatch", err)
			}
			var sum Digest
			h.Sum(sum[:0])
			err = pr.Verifier().CheckDigest(sum)
			if (err == nil) != tt.okSum {
				t.Fatalf("CheckDigest: %v, want it to pass: %v", err, tt.okSum)
			}
			if err != nil && !errors.Is(err, ErrPayloadMismatch) {
				t.Fatalf("CheckDigest: %v, want ErrPayloadMismatch", err)
			}
			// Its verifier took no digest: Check cannot vouch for the bytes.
			if err := pr.Verifier().Check(); err == nil {
				t.Fatal("Check of a size-only verifier passed")
			}
		})
	}
}
