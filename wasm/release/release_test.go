package release

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"trustforge/crypto/bundle"
	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
	"trustforge/crypto/mcuimg/ihex"
	"trustforge/internal/blocks"
	"trustforge/wasm/client"
)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// imgtoolInput is the release of app.bin with the options of the imgtool
// vectors: --header-size 0x200 --align 8 --version 1.2.3+4
// --slot-size 0x40000 --pad-header.
func imgtoolInput(t testing.TB, to ...string) Input {
	key, err := keys.ParsePrivateKey(readFile(t, "ed25519.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return Input{
		Firmware: blocks.Of(readFile(t, "app.bin")),
		Key:      key,
		Image:    mcuimg.SignOptions{HeaderSize: 0x200, PadHeader: true, Align: 8, SlotSize: 0x40000},
		Product:  "thermo", Channel: "beta", Version: "1.2.3+4", Notes: "first",
		Recipients: to,
		Now:        time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
	}
}

func TestBuildVerifyOpen(t *testing.T) {
	ctx := context.Background()
	tech, _ := age.GenerateX25519Identity()
	other, _ := age.GenerateX25519Identity()
	in := imgtoolInput(t, tech.Recipient().String())
	var stages []Stage
	yields := 0
	b, err := Build(ctx, in, func(p Progress) { stages = append(stages, p.Stage) },
		func(context.Context) error { yields++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Image.Bytes(), readFile(t, "app-ed25519.signed.bin")) {
		t.Error("the signed image differs from imgtool's")
	}
	if yields == 0 || len(stages) == 0 || stages[0] != StageSign || stages[len(stages)-1] != StageEncrypt {
		t.Errorf("progress stages %v, %d yields", stages, yields)
	}
	tfb := b.Bundle.Bytes()
	if bytes.Contains(tfb, in.Firmware.Bytes()[:4096]) {
		t.Error("the bundle holds the plaintext firmware")
	}

	// The server's record, as it would list the upload.
	s, err := bundle.ReadHeader(bytes.NewReader(tfb))
	if err != nil {
		t.Fatal(err)
	}
	rel := client.Release{ID: s.ManifestDigest().String(), Product: "thermo", Version: "1.2.3+4", Channel: "beta",
		Signer: s.KeyID(), PayloadSHA256: b.Manifest.Payload.SHA256.String(), PayloadSize: b.Manifest.Payload.Size}
	trusted := []crypto.PublicKey{in.Key.Public().Crypto()}
	c := Verify(rel, s.Bytes(), trusted)
	if !c.Verified() {
		t.Fatalf("Verify: %v", c.Err)
	}
	payload := tfb[len(tfb)-int(b.Manifest.Payload.Size):]
	img, err := Open(ctx, c, payload, []age.Identity{other, tech}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(img, b.Image.Bytes()) {
		t.Error("the opened image differs from the signed one")
	}
	// The whole .tfb, as the server stores it: header, manifest, payload.
	var whole bytes.Buffer
	if _, err := bundle.Open(ctx, &whole, bytes.NewReader(tfb), bundle.OpenOptions{Trusted: trusted, Identities: []age.Identity{tech}}); err != nil {
		t.Fatalf("bundle.Open of the built .tfb: %v", err)
	}
	if !bytes.Equal(whole.Bytes(), b.Image.Bytes()) {
		t.Error("the built .tfb opens to another image")
	}
	if _, err := Open(ctx, c, payload, []age.Identity{other}, nil, nil); !errors.Is(err, bundle.ErrNoIdentity) {
		t.Errorf("Open with a foreign identity: err = %v, want ErrNoIdentity", err)
	}

	// A server record that lies about the release is caught.
	liar := rel
	liar.SecurityCounter = 7
	if c := Verify(liar, s.Bytes(), trusted); !errors.Is(c.Err, ErrMismatch) {
		t.Errorf("lying record: err = %v, want ErrMismatch", c.Err)
	}
	// An untrusted signer is caught.
	stranger, _ := keys.Generate(nil, keys.Ed25519)
	if c := Verify(rel, s.Bytes(), []crypto.PublicKey{stranger.Public().Crypto()}); !errors.Is(c.Err, bundle.ErrUntrustedKey) {
		t.Errorf("untrusted signer: err = %v, want ErrUntrustedKey", c.Err)
	}
	if _, err := Open(ctx, Verify(rel, s.Bytes(), nil), payload, []age.Identity{tech}, nil, nil); err == nil {
		t.Error("an unverified release was opened")
	}
}

func TestBuildRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	tech, _ := age.GenerateX25519Identity()
	enc, _ := keys.Generate(nil, keys.X25519)
	tests := []struct {
		name string
		edit func(*Input)
	}{
		{"no key", func(in *Input) { in.Key = nil }},
		{"encryption key", func(in *Input) { in.Key = enc }},
		{"empty firmware", func(in *Input) { in.Firmware = nil }},
		{"bad version", func(in *Input) { in.Version = "1.2" }},
		{"no recipients", func(in *Input) { in.Recipients = nil }},
		{"bad recipient", func(in *Input) { in.Recipients = []string{"AGE-SECRET-KEY-1XYZ"} }},
		{"bad hex", func(in *Input) { in.IsHex = true }},
		{"bad product", func(in *Input) { in.Product = "-x" }},
		{"too big for the slot", func(in *Input) { in.Image.SlotSize = 0x1000 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := imgtoolInput(t, tech.Recipient().String())
			tt.edit(&in)
			if _, err := Build(ctx, in, nil, nil); err == nil {
				t.Error("Build succeeded")
			}
		})
	}
}

func BenchmarkBuild16MiB(b *testing.B) {
	tech, _ := age.GenerateX25519Identity()
	in := imgtoolInput(b, tech.Recipient().String())
	in.Firmware = blocks.Of(bytes.Repeat([]byte{0x5a, 0xa5, 1, 2}, 4<<20))
	in.Image.SlotSize = 0
	b.SetBytes(in.Firmware.Len())
	for b.Loop() {
		if _, err := Build(context.Background(), in, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBuildFromIntelHex(t *testing.T) {
	tech, _ := age.GenerateX25519Identity()
	in := imgtoolInput(t, tech.Recipient().String())
	hexText, err := ihex.Encode(ihex.Segment{Addr: 0x8000, Data: in.Firmware.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	// The text in blocks that cut its lines.
	var split blocks.Buffer
	for len(hexText) > 0 {
		k := min(len(hexText), 37)
		split.Write(hexText[:k])
		hexText = hexText[k:]
	}
	in.Firmware, in.IsHex = blocks.Of(split.Blocks()...), true
	b, err := Build(context.Background(), in, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Image.Bytes(), readFile(t, "app-ed25519.signed.bin")) {
		t.Error("the image signed from the .hex differs from imgtool's of the .bin")
	}
}

// The bundle is the header and manifest, then the payload in scratch's
// blocks; notes short and at their longest both open.
func TestBuildHeaderRoom(t *testing.T) {
	ctx := context.Background()
	tech, _ := age.GenerateX25519Identity()
	for _, notes := range []string{"short", strings.Repeat("n", bundle.MaxNotesLen)} {
		in := imgtoolInput(t, tech.Recipient().String())
		in.Notes = notes
		b, err := Build(ctx, in, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		var img bytes.Buffer
		m, err := bundle.Open(ctx, &img, b.Bundle.Reader(), bundle.OpenOptions{
			Trusted: []crypto.PublicKey{in.Key.Public().Crypto()}, Identities: []age.Identity{tech}})
		if err != nil {
			t.Fatalf("%d bytes of notes: %v", len(notes), err)
		}
		if m.Notes != notes || !bytes.Equal(img.Bytes(), b.Image.Bytes()) {
			t.Errorf("%d bytes of notes: the bundle opens to other notes or another image", len(notes))
		}
	}
}

// A firmware of several blocks, given in blocks of odd sizes, is signed to
// the image mcuimg.Sign makes of it in one slice, and the bundle, whose
// blocks are no longer than a block, opens to it.
func TestBuildInBlocksMatchesContiguous(t *testing.T) {
	ctx := context.Background()
	tech, _ := age.GenerateX25519Identity()
	in := imgtoolInput(t, tech.Recipient().String())
	in.Image.SlotSize = 0
	fw := make([]byte, 3*blocks.DefaultSize+4321)
	for i := range fw {
		fw[i] = byte(i*131 + i>>9)
	}
	var parts [][]byte
	for rest, k := fw, 1; len(rest) > 0; k = k*7 + 1 {
		n := min(len(rest), k%(blocks.DefaultSize+999)+1)
		parts, rest = append(parts, rest[:n]), rest[n:]
	}
	in.Firmware = blocks.Of(parts...)
	b, err := Build(ctx, in, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	opts := in.Image
	opts.Key = in.Key
	if opts.Version, err = mcuimg.ParseVersion(in.Version); err != nil {
		t.Fatal(err)
	}
	want, err := mcuimg.Sign(fw, &opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Image.Bytes(); !bytes.Equal(got, want) {
		t.Fatalf("the image built from blocks (%d bytes) differs from mcuimg.Sign's (%d bytes)", len(got), len(want))
	}
	for name, buf := range map[string]*blocks.Buffer{"image": b.Image, "bundle": b.Bundle} {
		if len(buf.Blocks()) < 4 {
			t.Errorf("the %s is in %d blocks, want several", name, len(buf.Blocks()))
		}
		for i, blk := range buf.Blocks() {
			if len(blk) > blocks.DefaultSize {
				t.Errorf("the %s's block %d holds %d bytes, more than %d", name, i, len(blk), blocks.DefaultSize)
			}
		}
	}
	var img bytes.Buffer
	if _, err := bundle.Open(ctx, &img, b.Bundle.Reader(), bundle.OpenOptions{
		Trusted: []crypto.PublicKey{in.Key.Public().Crypto()}, Identities: []age.Identity{tech}}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(img.Bytes(), want) {
		t.Error("the bundle opens to another image")
	}
}

// A Build that may consume its firmware's blocks writes the same image
// (into those blocks) and leaves the firmware empty; without the option
// the firmware is untouched.
func TestBuildConsumesFirmware(t *testing.T) {
	ctx := context.Background()
	tech, _ := age.GenerateX25519Identity()
	fw := make([]byte, 3*blocks.DefaultSize+4321)
	for i := range fw {
		fw[i] = byte(i*131 + i>>9)
	}
	build := func(consume bool) (*Built, *blocks.Buffer) {
		in := imgtoolInput(t, tech.Recipient().String())
		in.Image.SlotSize = 0
		src := new(blocks.Buffer)
		src.Write(fw)
		in.Firmware, in.ConsumeFirmware = src, consume
		b, err := Build(ctx, in, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return b, src
	}
	kept, src := build(false)
	if !bytes.Equal(src.Bytes(), fw) {
		t.Fatal("a Build not allowed to consume its firmware changed it")
	}
	used, src := build(true)
	if !bytes.Equal(used.Image.Bytes(), kept.Image.Bytes()) {
		t.Fatal("the image written into the firmware's blocks differs")
	}
	if src.Len() != 0 {
		t.Errorf("the consumed firmware still holds %d bytes", src.Len())
	}
}
