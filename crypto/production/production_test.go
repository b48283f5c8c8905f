package production

import (
	"bytes"
	"context"
	"crypto"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"filippo.io/age"

	"trustforge/crypto/bundle"
	"trustforge/crypto/keys"
)

func TestBuildOpenRoundTrip(t *testing.T) {
	f := newFixture(t)
	for _, mode := range []ImageMode{ImageDevice, ImageClear} {
		t.Run(string(mode), func(t *testing.T) {
			tfp, s := f.build(t, mode)
			p, err := Open(context.Background(), bytes.NewReader(tfp), f.opts())
			if err != nil {
				t.Fatal(err)
			}
			want := f.input(t, mode)
			if p.ID != s.ID() || p.Signer != f.signerID {
				t.Errorf("id %s signer %s, want %s %s", p.ID, p.Signer, s.ID(), f.signerID)
			}
			m := p.Manifest
			if m.Count != 8 || m.Batch != "2026-03-line2" || m.ImageMode != mode || m.Created != testNow ||
				len(m.Stations) != 1 || m.Stations[0] != f.station.Recipient().String() {
				t.Errorf("manifest %+v", m)
			}
			if !bytes.Equal(p.Contents.Image, want.Image) || !p.Contents.CAKey.Equal(f.batch.Key) {
				t.Error("the contents differ from what was packed")
			}
			if m.Profile.PKI("thermo").BootKeyHash != f.signerID {
				t.Errorf("profile %+v", m.Profile)
			}
			chain, err := m.Chain()
			if err != nil || !bytes.Equal(chain[0].Raw, f.batch.CA.Cert.Raw) || !bytes.Equal(chain[1].Raw, f.batch.Root.Raw) {
				t.Errorf("chain: %v", err)
			}
			// The same package opens by the signer's fingerprint, as the
			// server lists it.
			o := f.opts()
			o.Trusted, o.TrustedKeyIDs = nil, []string{p.Signer}
			if _, err := Open(context.Background(), bytes.NewReader(tfp), o); err != nil {
				t.Errorf("open by key id: %v", err)
			}
		})
	}
}

// TestOnlyStationsOpen: the engineer who built the package and a
// technician cannot open it; only the station's identity does.
func TestOnlyStationsOpen(t *testing.T) {
	f := newFixture(t)
	tfp, _ := f.build(t, ImageDevice)
	for _, who := range []struct {
		name string
		id   age.Identity
	}{{"engineer", f.engineer}, {"technician", f.technician}} {
		o := f.opts()
		o.Identities = []age.Identity{who.id}
		if _, err := Open(context.Background(), bytes.NewReader(tfp), o); !errors.Is(err, ErrNotForYou) {
			t.Errorf("%s's identity: %v, want ErrNotForYou", who.name, err)
		}
	}
	passphrase, _ := bundle.PassphraseIdentity("guess")
	o := f.opts()
	o.Identities = []age.Identity{passphrase, f.technician, f.station}
	if _, err := Open(context.Background(), bytes.NewReader(tfp), o); err != nil {
		t.Errorf("with the station's identity among others: %v", err)
	}
}

// TestModifiedAnywhere changes every byte of the header and manifest, and
// bytes all along the payload, and truncates and extends the package:
// every change is refused.
func TestModifiedAnywhere(t *testing.T) {
	f := newFixture(t)
	tfp, s := f.build(t, ImageDevice)
	head := HeaderSize + len(s.Bytes())
	step := 1
	if testing.Short() {
		step = 7
	}
	try := func(what string, b []byte) {
		t.Helper()
		if _, err := Open(context.Background(), bytes.NewReader(b), f.opts()); err == nil {
			t.Fatalf("%s: opened", what)
		}
	}
	for i := 0; i < head; i += step {
		b := bytes.Clone(tfp)
		b[i] ^= 0x20
		try("header byte changed", b)
	}
	for i := head; i < len(tfp); i += 97 {
		b := bytes.Clone(tfp)
		b[i] ^= 0x01
		if _, err := Open(context.Background(), bytes.NewReader(b), f.opts()); !errors.Is(err, ErrModified) {
			t.Fatalf("payload byte %d changed: %v, want ErrModified", i, err)
		}
	}
	for _, n := range []int{0, 1, HeaderSize - 1, HeaderSize, head - 1, head, head + 1, len(tfp) - 1} {
		try("truncated", tfp[:n])
	}
	try("extended", append(bytes.Clone(tfp), 0))
	// A manifest signed again by someone else (the count raised) is
	// refused as untrusted.
	other, _ := keys.Generate(nil, keys.Ed25519)
	in := f.input(t, ImageDevice)
	in.Manifest.Count = 800
	in.Key, _ = other.Signer()
	var forged bytes.Buffer
	if _, err := Build(context.Background(), &forged, in); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), bytes.NewReader(forged.Bytes()), f.opts()); !errors.Is(err, ErrUntrusted) {
		t.Errorf("re-signed package: %v, want ErrUntrusted", err)
	}
	// Another package's payload under this manifest is refused.
	tfp2, s2 := f.build(t, ImageDevice)
	swapped := append(bytes.Clone(tfp[:head]), tfp2[HeaderSize+len(s2.Bytes()):]...)
	if _, err := Open(context.Background(), bytes.NewReader(swapped), f.opts()); !errors.Is(err, ErrModified) {
		t.Errorf("swapped payload: %v, want ErrModified", err)
	}
}

func TestOpenRefuses(t *testing.T) {
	f := newFixture(t)
	tfp, _ := f.build(t, ImageDevice)
	tests := []struct {
		name   string
		change func(o *OpenOptions)
		want   error
	}{
		{"before the order", func(o *OpenOptions) { o.Now = func() time.Time { return testNow.Add(-time.Hour) } }, ErrExpired},
		{"after the order", func(o *OpenOptions) { o.Now = func() time.Time { return testNow.Add(15 * 24 * time.Hour) } }, ErrExpired},
		{"untrusted signer", func(o *OpenOptions) {
			k, _ := keys.Generate(nil, keys.Ed25519)
			o.Trusted = []crypto.PublicKey{k.Public().Crypto()}
		}, ErrUntrusted},
		{"unlisted key id", func(o *OpenOptions) { o.Trusted, o.TrustedKeyIDs = nil, []string{"00"} }, ErrUntrusted},
		{"no identity", func(o *OpenOptions) { o.Identities = nil }, ErrNotForYou},
		{"not a package", nil, ErrNotPackage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := f.opts()
			in := tfp
			if tt.change == nil {
				in = []byte("\x89TFB\r\n\x1a\n" + string(tfp[8:]))
			} else {
				tt.change(&o)
			}
			if _, err := Open(context.Background(), bytes.NewReader(in), o); !errors.Is(err, tt.want) {
				t.Errorf("Open = %v, want %v", err, tt.want)
			}
		})
	}
	bad := bytes.Clone(tfp)
	binary.BigEndian.PutUint16(bad[8:], 2)
	if _, err := ReadHeader(bytes.NewReader(bad)); !errors.Is(err, ErrUnsupported) {
		t.Errorf("container version 2: %v, want ErrUnsupported", err)
	}
}

func TestBuildRefuses(t *testing.T) {
	f := newFixture(t)
	other, _ := keys.Generate(nil, keys.ECDSAP256)
	tests := []struct {
		name   string
		change func(in *BuildInput)
		want   error
	}{
		{"no count", func(in *BuildInput) { in.Manifest.Count = 0 }, ErrMalformed},
		{"count too large", func(in *BuildInput) { in.Manifest.Count = MaxCount + 1 }, ErrMalformed},
		{"expires before it opens", func(in *BuildInput) { in.Manifest.Expires = in.Manifest.NotBefore }, ErrMalformed},
		{"outlives the batch CA", func(in *BuildInput) { in.Manifest.Expires = testNow.Add(60 * 24 * time.Hour) }, ErrMalformed},
		{"device mode with an image not signed for encryption", func(in *BuildInput) { in.Image = f.plainImage }, ErrMalformed},
		{"device mode without device keys", func(in *BuildInput) { in.Manifest.Profile.EncryptImages = false }, ErrMalformed},
		{"another CA key", func(in *BuildInput) { in.CAKey = other }, ErrModified},
		{"not the release's image", func(in *BuildInput) { in.Manifest.Release.Image = bundle.ImageInfo{Size: 1} }, ErrMalformed},
		{"bad batch", func(in *BuildInput) { in.Manifest.Batch = "a b" }, ErrMalformed},
		{"bad version", func(in *BuildInput) { in.Manifest.Release.Version = "one" }, ErrMalformed},
		{"bad mode", func(in *BuildInput) { in.Manifest.ImageMode = "sideways" }, ErrMalformed},
		{"root as batch", func(in *BuildInput) { in.Manifest.CA = in.Manifest.Root }, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := f.input(t, ImageDevice)
			tt.change(&in)
			if _, err := Build(context.Background(), new(bytes.Buffer), in); !errors.Is(err, tt.want) {
				t.Errorf("Build = %v, want %v", err, tt.want)
			}
		})
	}
	in := f.input(t, ImageDevice)
	in.Stations = nil
	if _, err := Build(context.Background(), new(bytes.Buffer), in); err == nil {
		t.Error("a package for no station was built")
	}
}
