package production

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"

	"trustforge/crypto/bundle"
)

// flashSetInput is a valid BuildInput for an ESP32 flash set.
func (f *fixture) flashSetInput(t testing.TB) BuildInput {
	in := f.input(t, ImageClear)
	bl, app := bytes.Repeat([]byte{0xE9, 1}, 3000), bytes.Repeat([]byte("esp32 app "), 4000)
	in.Image = append(append([]byte(nil), bl...), app...)
	in.Manifest.Release.ImageFormat = bundle.ImageFormatESPFlashSet
	in.Manifest.Release.Parts = []bundle.Part{
		{Name: "bootloader", Offset: 0, Size: int64(len(bl)), SHA256: sha256.Sum256(bl)},
		{Name: "app", Offset: 0x10000, Size: int64(len(app)), SHA256: sha256.Sum256(app), Encrypt: true},
	}
	return in
}

// TestFlashSetRoundTrip: a package of an ESP32 flash set carries its parts
// in the signed manifest and its bytes in the payload; damaged parts,
// parts that do not add up and a flash set to encrypt per device are
// refused.
func TestFlashSetRoundTrip(t *testing.T) {
	f := newFixture(t)
	in := f.flashSetInput(t)
	var out bytes.Buffer
	if _, err := Build(context.Background(), &out, in); err != nil {
		t.Fatal(err)
	}
	p, err := Open(context.Background(), bytes.NewReader(out.Bytes()), f.opts())
	if err != nil {
		t.Fatal(err)
	}
	r := p.Manifest.Release
	if !r.IsFlashSet() || len(r.Parts) != 2 || r.Parts[1] != in.Manifest.Release.Parts[1] ||
		r.Image.SHA256 != sha256.Sum256(in.Image) || !bytes.Equal(p.Contents.Image, in.Image) {
		t.Errorf("release %+v", r)
	}

	tests := []struct {
		name string
		edit func(*BuildInput)
		want error
	}{
		{"damaged part", func(in *BuildInput) { in.Image = append([]byte(nil), in.Image...); in.Image[10] ^= 1 }, ErrModified},
		{"parts do not add up", func(in *BuildInput) { in.Manifest.Release.Parts = in.Manifest.Release.Parts[:1] }, ErrMalformed},
		{"overlapping parts", func(in *BuildInput) { in.Manifest.Release.Parts[1].Offset = 0x100 }, ErrMalformed},
		{"per-device encryption", func(in *BuildInput) {
			in.Manifest.ImageMode = ImageDevice
			in.Manifest.Profile.EncryptImages = true
		}, ErrMalformed},
		{"parts on an MCUboot image", func(in *BuildInput) { in.Manifest.Release.ImageFormat = "" }, ErrMalformed},
		{"unknown format", func(in *BuildInput) { in.Manifest.Release.ImageFormat = "uf2" }, ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := f.flashSetInput(t)
			tt.edit(&in)
			_, err := Build(context.Background(), &bytes.Buffer{}, in)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
