package production

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"trustforge/crypto/bundle"
	"trustforge/internal/cbor"
)

// TestDFUSettingsRoundTrip: a package's USB DFU settings (an STM32's
// address, read-out protection asked for) are signed with its manifest
// and come back as they were; a package without them has none.
func TestDFUSettingsRoundTrip(t *testing.T) {
	f := newFixture(t)
	for _, want := range []DFU{{}, {Address: 0x08020000}, {ReadOutProtection: true}, {Address: 0x08004000, ReadOutProtection: true}} {
		in := f.input(t, ImageClear)
		in.Manifest.DFU = want
		var out bytes.Buffer
		if _, err := Build(context.Background(), &out, in); err != nil {
			t.Fatal(err)
		}
		p, err := Open(context.Background(), bytes.NewReader(out.Bytes()), f.opts())
		if err != nil {
			t.Fatal(err)
		}
		if p.Manifest.DFU != want {
			t.Errorf("DFU settings %+v, want %+v", p.Manifest.DFU, want)
		}
		raw, err := p.Manifest.encode()
		if err != nil {
			t.Fatal(err)
		}
		if has := bytes.Contains(raw, []byte("dfu")); has != (want != DFU{}) {
			t.Errorf("the manifest's CBOR has a dfu key: %v, want %v", has, want != DFU{})
		}
	}
}

// TestDFUSettingsRefused: an empty dfu map is not canonical (it would
// re-encode without it), and a flash set takes no DFU settings.
func TestDFUSettingsRefused(t *testing.T) {
	f := newFixture(t)
	m := f.input(t, ImageClear).Manifest
	m.Format, m.Created = Format, testNow
	m.Stations = []string{f.station.Recipient().String()}
	m.Release.Image = bundle.ImageInfo{Size: 1}
	m.Payload = bundle.PayloadInfo{Size: 1}
	w, err := m.wire()
	if err != nil {
		t.Fatal(err)
	}
	w.DFU = &wireDFU{}
	b, err := cbor.MarshalDeterministic(w)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeManifest(b); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "canonical") {
		t.Errorf("an empty dfu map: %v, want ErrMalformed (not canonical)", err)
	}
	w.DFU = &wireDFU{Address: 1 << 32}
	b, _ = cbor.MarshalDeterministic(w)
	if _, err := decodeManifest(b); !errors.Is(err, ErrMalformed) {
		t.Errorf("a 33-bit address: %v, want ErrMalformed", err)
	}
	m.DFU = DFU{ReadOutProtection: true}
	m.Release.ImageFormat = bundle.ImageFormatESPFlashSet
	m.Release.Parts = []bundle.Part{{Name: "app", Offset: 0x10000, Size: 1}}
	if err := m.Validate(); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "USB DFU") {
		t.Errorf("a flash set with DFU settings: %v, want ErrMalformed", err)
	}
}
