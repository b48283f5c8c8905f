package production

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"

	"trustforge/crypto/bundle"
	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
)

// benchPackage is a package of a 1 MiB image for the fixture's station.
func benchPackage(b *testing.B) (*fixture, BuildInput) {
	f := newFixture(b)
	in := f.input(b, ImageDevice)
	factory, _ := keys.Generate(rand.Reader, keys.X25519)
	img, err := mcuimg.Sign(bytes.Repeat([]byte("firmware"), 128<<10), &mcuimg.SignOptions{Key: f.signer,
		Version: mcuimg.Version{Major: 1, Minor: 2, Revision: 3}, HeaderSize: 0x200, PadHeader: true, EncryptTo: factory.Public(), Clear: true})
	if err != nil {
		b.Fatal(err)
	}
	in.Image, in.Manifest.Release.Image = img, bundle.ImageInfo{}
	return f, in
}

// BenchmarkBuild builds a package of a 1 MiB image: check, seal to the
// station, sign.
func BenchmarkBuild(b *testing.B) {
	_, in := benchPackage(b)
	b.SetBytes(int64(len(in.Image)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Build(context.Background(), new(bytes.Buffer), in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen opens that package as the station: verify, decrypt, check.
func BenchmarkOpen(b *testing.B) {
	f, in := benchPackage(b)
	var tfp bytes.Buffer
	if _, err := Build(context.Background(), &tfp, in); err != nil {
		b.Fatal(err)
	}
	o := f.opts()
	b.SetBytes(int64(len(in.Image)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Open(context.Background(), bytes.NewReader(tfp.Bytes()), o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTicket signs a ticket (the server) and verifies it (a station
// or relying party).
func BenchmarkTicket(b *testing.B) {
	k, _ := keys.Generate(rand.Reader, keys.Ed25519)
	s, _ := k.Signer()
	pub := k.Public().Crypto()
	for i := 0; i < b.N; i++ {
		st, err := SignTicket(rand.Reader, testTicket(), s)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.Verify(pub); err != nil {
			b.Fatal(err)
		}
	}
}
