package production

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"trustforge/crypto/bundle"
	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
	"trustforge/crypto/pki"
	"trustforge/crypto/vault"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// memStore is a vault.Store in memory.
type memStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *memStore) Get(_ context.Context, k string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[k]
	return bytes.Clone(v), ok, nil
}

func (s *memStore) Put(_ context.Context, k string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[k] = bytes.Clone(v)
	return nil
}

func (s *memStore) Delete(_ context.Context, k string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, k)
	return nil
}

func (s *memStore) List(_ context.Context, prefix string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.m {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out, nil
}

// fixture is an engineer's CA and signing key, a batch for "thermo", and
// the age identities of a station, an engineer and a technician.
type fixture struct {
	signer     *keys.PrivateKey
	signerID   string // its fingerprint: hex SHA-256 of its SPKI
	batch      *pki.Batch
	station    *age.X25519Identity
	engineer   *age.X25519Identity
	technician *age.X25519Identity
	clearImage []byte // signed for encryption, payload in the clear
	plainImage []byte // signed without encryption
	profile    pki.Profile
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	signer, err := keys.ParsePrivateKey(readTestdata(t, "ed25519.pem"))
	if err != nil {
		t.Fatal(err)
	}
	st := &memStore{m: map[string][]byte{}}
	v, err := vault.Create(ctx, st, "correct horse battery", vault.Options{WorkFactor: 1})
	if err != nil {
		t.Fatal(err)
	}
	a := pki.New(st, v, pki.Options{Now: func() time.Time { return testNow }})
	if _, err := a.InitRoot(ctx, pki.RootOptions{Organization: "Acme Devices"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AddIntermediate(ctx, pki.IntermediateOptions{Product: "thermo"}); err != nil {
		t.Fatal(err)
	}
	b, err := a.NewBatch(ctx, pki.BatchOptions{Product: "thermo", Batch: "2026-03-line2", NotAfter: testNow.Add(30 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	fp, err := bundle.KeyFingerprint(signer.Public().Crypto())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{signer: signer, batch: b, signerID: fp,
		profile: pki.Profile{Product: "thermo", BootKeyHash: fp, EncryptImages: true}}
	for _, id := range []**age.X25519Identity{&f.station, &f.engineer, &f.technician} {
		if *id, err = age.GenerateX25519Identity(); err != nil {
			t.Fatal(err)
		}
	}
	factory, _ := keys.Generate(rand.Reader, keys.X25519)
	app := readTestdata(t, "app.bin")
	opts := mcuimg.SignOptions{Key: signer, Version: mcuimg.Version{Major: 1, Minor: 2, Revision: 3}, HeaderSize: 0x200,
		PadHeader: true, Align: 8, EncryptTo: factory.Public(), Clear: true}
	if f.clearImage, err = mcuimg.Sign(app, &opts); err != nil {
		t.Fatal(err)
	}
	opts.EncryptTo, opts.Clear = nil, false
	if f.plainImage, err = mcuimg.Sign(app, &opts); err != nil {
		t.Fatal(err)
	}
	return f
}

// input is a valid BuildInput for the fixture.
func (f *fixture) input(t testing.TB, mode ImageMode) BuildInput {
	t.Helper()
	signer, err := f.signer.Signer()
	if err != nil {
		t.Fatal(err)
	}
	img := f.clearImage
	profile := ProfileOf(f.profile)
	if mode == ImageClear {
		img = f.plainImage
		profile.EncryptImages = false
	}
	return BuildInput{
		Manifest: Manifest{
			Product: "thermo", Batch: "2026-03-line2", Count: 8,
			NotBefore: testNow, Expires: testNow.Add(14 * 24 * time.Hour),
			Release:   Release{ID: bundle.Digest{1, 2, 3}, Version: "1.2.3"},
			ImageMode: mode, Profile: profile,
			CA: f.batch.CA.Cert.Raw, Root: f.batch.Root.Raw,
		},
		Image: img, CAKey: f.batch.Key, Stations: []bundle.Recipient{f.station.Recipient()},
		Key: signer, Now: func() time.Time { return testNow },
	}
}

// build makes a package.
func (f *fixture) build(t testing.TB, mode ImageMode) ([]byte, *Signed) {
	t.Helper()
	var out bytes.Buffer
	s, err := Build(context.Background(), &out, f.input(t, mode))
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), s
}

// opts are the station's options to open the fixture's packages.
func (f *fixture) opts() OpenOptions {
	return OpenOptions{Trusted: []crypto.PublicKey{f.signer.Public().Crypto()}, Identities: []age.Identity{f.station},
		Now: func() time.Time { return testNow.Add(time.Hour) }}
}
