package bundle

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"testing"

	"filippo.io/age"
)

// flashSetParts returns a small flash set's parts and their bytes.
func flashSetParts() ([]Part, [][]byte) {
	datas := [][]byte{bytes.Repeat([]byte{0xE9, 1}, 1500), bytes.Repeat([]byte{0xAA, 0x50}, 48), bytes.Repeat([]byte{0xE9, 7, 3}, 10000)}
	parts := []Part{
		{Name: "bootloader", Offset: 0x0, Size: int64(len(datas[0])), Encrypt: true},
		{Name: "partition-table", Offset: 0x8000, Size: int64(len(datas[1])), Encrypt: true},
		{Name: "app", Offset: 0x10000, Size: int64(len(datas[2]))},
	}
	return parts, datas
}

func createFlashSet(t testing.TB, key crypto.Signer) ([]byte, *Signed, []byte) {
	t.Helper()
	parts, datas := flashSetParts()
	m := testManifest()
	m.SecurityCounter = 0
	m.ImageFormat = ImageFormatESPFlashSet
	m.Parts = parts
	var out bytes.Buffer
	s, err := Create(context.Background(), &out, bytes.NewReader(bytes.Join(datas, nil)), m, CreateOptions{Key: key, To: testRecipients(t), Now: fixedNow})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return out.Bytes(), s, bytes.Join(datas, nil)
}

func TestFlashSetRoundTrip(t *testing.T) {
	t.Parallel()
	key := signerFromPEM(t, "ed25519.pem")
	tfb, _, content := createFlashSet(t, key)
	var got bytes.Buffer
	m, err := Open(context.Background(), &got, bytes.NewReader(tfb), OpenOptions{
		Trusted: []crypto.PublicKey{key.Public()}, Identities: testIdentities(t)})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), content) {
		t.Fatal("flash set content differs")
	}
	if !m.IsFlashSet() || len(m.Parts) != 3 || m.Parts[2].Offset != 0x10000 || !m.Parts[0].Encrypt || m.Parts[2].Encrypt {
		t.Fatalf("manifest parts %+v", m.Parts)
	}
	_, datas := flashSetParts()
	for i, p := range m.Parts {
		if p.SHA256 != Digest(sha256Of(datas[i])) {
			t.Errorf("part %s digest %s", p.Name, p.SHA256)
		}
	}
	if m.Image.SHA256 != Digest(sha256Of(content)) || m.Image.Size != int64(len(content)) {
		t.Error("image digest is not the SHA-256 of the parts back to back")
	}
}

func TestFlashSetRefusals(t *testing.T) {
	t.Parallel()
	parts, datas := flashSetParts()
	key := signerFromPEM(t, "ed25519.pem")
	for name, tc := range map[string]struct {
		mut  func(m *Manifest, content *[]byte)
		want error
	}{
		"short content": {func(m *Manifest, c *[]byte) { *c = (*c)[:len(*c)-1] }, ErrImageMismatch},
		"long content":  {func(m *Manifest, c *[]byte) { *c = append(*c, 0) }, ErrImageMismatch},
		"wrong digest":  {func(m *Manifest, c *[]byte) { m.Parts[1].SHA256[0] = 1 }, ErrImageMismatch},
		"overlap":       {func(m *Manifest, c *[]byte) { m.Parts[1].Offset = 0x100 }, ErrMalformed},
		"no parts":      {func(m *Manifest, c *[]byte) { m.Parts = nil }, ErrMalformed},
		"bad name":      {func(m *Manifest, c *[]byte) { m.Parts[0].Name = "../boot" }, ErrMalformed},
		"encrypt odd":   {func(m *Manifest, c *[]byte) { m.Parts[2].Encrypt = true; m.Parts[2].Offset = 0x10008 }, ErrMalformed},
		"format":        {func(m *Manifest, c *[]byte) { m.ImageFormat = "uf2" }, ErrUnsupported},
		"mcuboot parts": {func(m *Manifest, c *[]byte) { m.ImageFormat = ImageFormatMCUboot }, ErrMalformed},
	} {
		m := testManifest()
		m.ImageFormat = ImageFormatESPFlashSet
		m.Parts = append([]Part(nil), parts...)
		content := bytes.Join(datas, nil)
		tc.mut(&m, &content)
		var out bytes.Buffer
		_, err := Create(context.Background(), &out, bytes.NewReader(content), m, CreateOptions{Key: key, To: testRecipients(t), Now: fixedNow})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

// TestOldBundlesStillRead: an MCUboot bundle's manifest has no image format
// or parts on the wire, and reads back as an MCUboot release.
func TestOldBundlesStillRead(t *testing.T) {
	t.Parallel()
	img := readTestdata(t, "app-ed25519.signed.bin")
	key := signerFromPEM(t, "ed25519.pem")
	tfb, s := createBundle(t, img, key, testRecipients(t))
	if bytes.Contains(s.Bytes(), []byte("image_format")) || bytes.Contains(s.Bytes(), []byte("parts")) {
		t.Error("an MCUboot manifest carries image_format")
	}
	m, err := Open(context.Background(), new(bytes.Buffer), bytes.NewReader(tfb), OpenOptions{
		Trusted: []crypto.PublicKey{key.Public()}, Identities: testIdentities(t)})
	if err != nil || m.IsFlashSet() || m.ImageFormat != "" || m.Parts != nil {
		t.Fatalf("%+v %v", m, err)
	}
}

// TestFlashSetManifestCanonical: a manifest with parts re-encodes to itself.
func TestFlashSetManifestCanonical(t *testing.T) {
	t.Parallel()
	_, s, _ := createFlashSet(t, signerFromPEM(t, "ed25519.pem"))
	m, err := s.VerifyIntegrity()
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.encode()
	if err != nil {
		t.Fatal(err)
	}
	again, err := decodeManifest(b)
	if err != nil || !again.IsFlashSet() || len(again.Parts) != 3 {
		t.Fatalf("decode of the encoding: %+v %v", again, err)
	}
	if !bytes.Contains(s.Bytes(), b) {
		t.Fatal("the signed manifest is not the canonical encoding")
	}
}

func testIdentities(t *testing.T) []age.Identity {
	return []age.Identity{identityFromFile(t, "line.agekey")}
}

func sha256Of(b []byte) [32]byte { return sha256.Sum256(b) }

func FuzzFlashSetManifest(f *testing.F) {
	_, s, _ := createFlashSet(f, signerFromPEM(f, "ed25519.pem"))
	m, err := s.VerifyIntegrity()
	if err != nil {
		f.Fatal(err)
	}
	b, _ := m.encode()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeManifest(b)
		if err != nil {
			return
		}
		again, err := m.encode()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted a manifest that does not re-encode to itself: %v", err)
		}
	})
}
