package production

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"

	"trustforge/crypto/keys"
)

// FuzzReadHeader feeds arbitrary bytes to the container and manifest
// parsers: they never panic, and what they accept re-encodes to the same
// bytes.
func FuzzReadHeader(f *testing.F) {
	fx := newFixture(f)
	tfp, s := fx.build(f, ImageDevice)
	f.Add(tfp[:HeaderSize+len(s.Bytes())])
	f.Add(tfp[:HeaderSize])
	f.Add([]byte(Magic))
	// A package of an ESP32 flash set: its parts in the manifest.
	var fs bytes.Buffer
	fss, err := Build(context.Background(), &fs, fx.flashSetInput(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(fs.Bytes()[:HeaderSize+len(fss.Bytes())])
	// A package with USB DFU settings.
	in := fx.input(f, ImageClear)
	in.Manifest.DFU = DFU{Address: 0x08020000, ReadOutProtection: true}
	var ds bytes.Buffer
	dss, err := Build(context.Background(), &ds, in)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ds.Bytes()[:HeaderSize+len(dss.Bytes())])
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ReadHeader(bytes.NewReader(b))
		if err != nil {
			return
		}
		if _, err := ParseSigned(s.Bytes()); err != nil {
			t.Fatalf("a parsed manifest does not parse again: %v", err)
		}
		s.VerifyIntegrity()
	})
}

// FuzzOpen opens arbitrary packages with the fixture's station identity.
func FuzzOpen(f *testing.F) {
	fx := newFixture(f)
	tfp, _ := fx.build(f, ImageDevice)
	f.Add(tfp)
	f.Add(tfp[:len(tfp)/2])
	var fs bytes.Buffer
	if _, err := Build(context.Background(), &fs, fx.flashSetInput(f)); err != nil {
		f.Fatal(err)
	}
	f.Add(fs.Bytes())
	o := fx.opts()
	f.Fuzz(func(t *testing.T, b []byte) {
		Open(context.Background(), bytes.NewReader(b), o)
	})
}

// FuzzParseTicket feeds arbitrary bytes to the ticket parser and the
// certificate extension reader.
func FuzzParseTicket(f *testing.F) {
	key, _ := keys.Generate(rand.Reader, keys.Ed25519)
	s, _ := key.Signer()
	st, err := SignTicket(rand.Reader, testTicket(), s)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(st.Bytes())
	f.Add([]byte{0xd2, 0x84})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseTicket(b)
		if err != nil {
			return
		}
		c := st.Claimed()
		if _, err := c.encode(); err != nil {
			t.Fatalf("a parsed ticket does not encode: %v", err)
		}
		st.Verify(key.Public().Crypto())
	})
}

// FuzzDecodeContents feeds arbitrary plaintext to the contents decoder.
func FuzzDecodeContents(f *testing.F) {
	fx := newFixture(f)
	c := &Contents{Image: fx.clearImage, CAKey: fx.batch.Key}
	b, err := c.encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:100])
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeContents(b)
	})
}
