package mastering

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
	"trustforge/crypto/pki"
	"trustforge/crypto/production"
	"trustforge/crypto/vault"
	"trustforge/internal/blocks"
	"trustforge/wasm/client"
	"trustforge/wasm/release"
	"trustforge/wasm/storage"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// bench is an engineer's console: vault, CA with a profile for thermo,
// a signing key, and a station's and a technician's identities.
type bench struct {
	v          *vault.Vault
	ca         *pki.Authority
	profile    pki.Profile
	key        *keys.PrivateKey
	engineer   *age.X25519Identity
	station    *age.X25519Identity
	technician *age.X25519Identity
}

func newBench(t *testing.T) *bench {
	t.Helper()
	ctx := context.Background()
	st := &storage.Memory{}
	v, err := vault.Create(ctx, st, "engineer passphrase", vault.Options{WorkFactor: 1})
	if err != nil {
		t.Fatal(err)
	}
	ca := pki.New(st, v, pki.Options{Now: func() time.Time { return now }})
	if _, err := ca.InitRoot(ctx, pki.RootOptions{Organization: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.AddIntermediate(ctx, pki.IntermediateOptions{Product: "thermo"}); err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile("testdata/ed25519.pem")
	if err != nil {
		t.Fatal(err)
	}
	key, err := keys.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	fp, _ := bundle.KeyFingerprint(key.Public().Crypto())
	profile, err := ca.SaveProfile(ctx, pki.Profile{Product: "thermo", BootKeyHash: fp, EncryptImages: true})
	if err != nil {
		t.Fatal(err)
	}
	b := &bench{v: v, ca: ca, profile: profile, key: key}
	for _, id := range []**age.X25519Identity{&b.engineer, &b.station, &b.technician} {
		*id, _ = age.GenerateX25519Identity()
	}
	return b
}

// release publishes (in memory) a release of app.bin, signed for
// encryption to encTo with the payload clear when clear, and verifies it
// as the Releases page does.
func (b *bench) release(t *testing.T, encTo *keys.PublicKey, clear bool) (release.Checked, []byte) {
	t.Helper()
	fw, _ := os.ReadFile("testdata/app.bin")
	built, err := release.Build(context.Background(), release.Input{Firmware: blocks.Of(fw), Key: b.key,
		Image:   mcuimg.SignOptions{HeaderSize: 0x200, PadHeader: true, Align: 8, SlotSize: 0x40000, EncryptTo: encTo, Clear: clear},
		Product: "thermo", Channel: "stable", Version: "1.4.0", Recipients: []string{b.engineer.Recipient().String()}, Now: now}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tfb := built.Bundle.Bytes()
	s, err := bundle.ReadHeader(bytes.NewReader(tfb))
	if err != nil {
		t.Fatal(err)
	}
	rel := client.Release{ID: s.ManifestDigest().String(), Product: "thermo", Version: "1.4.0", Channel: "stable",
		Signer: s.KeyID(), PayloadSHA256: built.Manifest.Payload.SHA256.String(), PayloadSize: built.Manifest.Payload.Size}
	c := release.Verify(rel, s.Bytes(), []crypto.PublicKey{b.key.Public().Crypto()})
	if !c.Verified() {
		t.Fatal(c.Err)
	}
	return c, tfb[bundle.HeaderSize+len(s.Bytes()):]
}

func (b *bench) input(c release.Checked, payload []byte) Input {
	return Input{Release: c, Payload: payload, Identities: []age.Identity{b.engineer}, CA: b.ca, Profile: b.profile,
		Batch: "2026-03-line2", Count: 8, Expires: now.Add(14 * 24 * time.Hour), Stations: []string{b.station.Recipient().String()},
		Key: b.key, Now: func() time.Time { return now }}
}

func (b *bench) open(t *testing.T, tfp []byte, id age.Identity) (*production.Package, error) {
	t.Helper()
	return production.Open(context.Background(), bytes.NewReader(tfp), production.OpenOptions{
		Trusted: []crypto.PublicKey{b.key.Public().Crypto()}, Identities: []age.Identity{id}, Now: func() time.Time { return now.Add(time.Hour) }})
}

func TestBuildFromClearRelease(t *testing.T) {
	b := newBench(t)
	factory, _ := keys.Generate(nil, keys.X25519)
	c, payload := b.release(t, factory.Public(), true)
	built, err := Build(context.Background(), b.input(c, payload))
	if err != nil {
		t.Fatal(err)
	}
	if built.Manifest.ImageMode != production.ImageDevice || built.Manifest.Count != 8 || built.Manifest.Release.ID.String() != c.Release.ID {
		t.Errorf("manifest %+v", built.Manifest)
	}
	p, err := b.open(t, built.TFP, b.station)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := mcuimg.Parse(p.Contents.Image)
	if !img.Encrypted() || img.Trailer != nil || img.PadSize != 0 {
		t.Errorf("the package's image: encrypted flag %v, trailer %v, pad %d", img.Encrypted(), img.Trailer, img.PadSize)
	}
	for _, who := range []*age.X25519Identity{b.engineer, b.technician} {
		if _, err := b.open(t, built.TFP, who); !errors.Is(err, production.ErrNotForYou) {
			t.Errorf("opened by a non-station identity: %v", err)
		}
	}
}

func TestBuildFromEncryptedRelease(t *testing.T) {
	b := newBench(t)
	devKey, _ := keys.Generate(nil, keys.X25519)
	c, payload := b.release(t, devKey.Public(), false)
	in := b.input(c, payload)
	if _, err := Build(context.Background(), in); err == nil {
		t.Fatal("built a package from an image encrypted to a key the vault does not hold")
	}
	in.DecryptionKeys = []*keys.PrivateKey{devKey}
	built, err := Build(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.open(t, built.TFP, b.station)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := mcuimg.Parse(p.Contents.Image)
	if _, err := img.Verify(mcuimg.VerifyOptions{Keys: []*keys.PublicKey{b.key.Public()}}); err != nil {
		t.Errorf("the clear form does not verify: %v", err)
	}
}

func TestBuildRefuses(t *testing.T) {
	b := newBench(t)
	c, payload := b.release(t, nil, false) // signed without encryption
	tests := []struct {
		name   string
		change func(*Input)
	}{
		{"device keys need an image signed for encryption", func(in *Input) {}},
		{"no station", func(in *Input) { in.Mode, in.Stations = production.ImageClear, nil }},
		{"no count", func(in *Input) { in.Mode, in.Count = production.ImageClear, 0 }},
		{"ends before it starts", func(in *Input) { in.Mode, in.Expires = production.ImageClear, now.Add(-time.Hour) }},
		{"not the release's product", func(in *Input) { in.Mode, in.Profile.Product = production.ImageClear, "kettle" }},
		{"vault locked", func(in *Input) { in.Mode = production.ImageClear; b.v.Lock() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := b.input(c, payload)
			tt.change(&in)
			if _, err := Build(context.Background(), in); err == nil {
				t.Error("built")
			}
		})
	}
	if err := b.v.Unlock(context.Background(), "engineer passphrase"); err != nil {
		t.Fatal(err)
	}
	in := b.input(c, payload)
	in.Mode = production.ImageClear
	if _, err := Build(context.Background(), in); err != nil {
		t.Errorf("a clear package of a plain image: %v", err)
	}
}

func TestBuildCarriesDFU(t *testing.T) {
	b := newBench(t)
	c, payload := b.release(t, nil, false)
	in := b.input(c, payload)
	in.Mode = production.ImageClear
	in.DFU = production.DFU{Address: 0x08004000, ReadOutProtection: true}
	built, err := Build(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.open(t, built.TFP, b.station)
	if err != nil {
		t.Fatal(err)
	}
	if p.Manifest.DFU != in.DFU {
		t.Errorf("the package's DFU settings are %+v, want %+v", p.Manifest.DFU, in.DFU)
	}
}

// TestBuildRefusesDFUForFlashSet: an ESP32 flash set is never programmed
// over USB DFU, so a package of one takes no DFU settings.
func TestBuildRefusesDFUForFlashSet(t *testing.T) {
	b := newBench(t)
	c, payload := b.release(t, nil, false)
	m := *c.Manifest
	m.ImageFormat = bundle.ImageFormatESPFlashSet
	c.Manifest = &m
	for _, d := range []production.DFU{{Address: 0x08000000}, {ReadOutProtection: true}} {
		in := b.input(c, payload)
		in.DFU = d
		_, err := Build(context.Background(), in)
		if err == nil || !strings.Contains(err.Error(), "not programmed over USB DFU") {
			t.Errorf("a flash set with DFU settings %+v: %v", d, err)
		}
	}
}
