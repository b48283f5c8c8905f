package bundle_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"filippo.io/age"

	"trustforge/crypto/bundle"
)

// Create a bundle of an imgtool image for one technician, then open it as
// the technician would.
func ExampleCreate() {
	image, err := os.ReadFile("testdata/app-ed25519.signed.bin")
	if err != nil {
		log.Fatal(err)
	}
	releaseKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	technician, err := age.GenerateX25519Identity()
	if err != nil {
		log.Fatal(err)
	}

	var tfb bytes.Buffer
	_, err = bundle.Create(context.Background(), &tfb, bytes.NewReader(image), bundle.Manifest{
		Product: "thermo-x2",
		Version: bundle.Version{Major: 1, Minor: 2, Patch: 3, Build: "4"},
		Channel: "stable",
	}, bundle.CreateOptions{
		Key: releaseKey,
		To:  bundle.Recipients{Keys: []bundle.Recipient{technician.Recipient()}},
	})
	if err != nil {
		log.Fatal(err)
	}

	var opened bytes.Buffer
	m, err := bundle.Open(context.Background(), &opened, &tfb, bundle.OpenOptions{
		Trusted:    []crypto.PublicKey{releaseKey.Public()},
		Identities: []age.Identity{technician},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Product, m.Version, m.Channel)
	fmt.Println("image SHA256 TLV:", m.Image.SHA256)
	fmt.Println("same image:", bytes.Equal(opened.Bytes(), image))
	// Output:
	// thermo-x2 1.2.3+4 stable
	// image SHA256 TLV: 76a356a87ca01a018cfb19aa0055713b647727a15d4a8df80d2aada03ee9e4e3
	// same image: true
}

// A release server checks an upload as it streams: the manifest first, then
// the payload, which it keeps only if it is exactly the signed one. It
// never needs an age identity.
func ExampleReadHeader() {
	releaseKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	upload := exampleBundle(releaseKey) // an io.Reader, such as an HTTP request body

	s, err := bundle.ReadHeader(upload) // reads the header and manifest, not the payload
	if err != nil {
		log.Fatal(err)
	}
	m, err := s.Verify(releaseKey.Public()) // the product's registered release keys
	if err != nil {
		log.Fatal(err) // bundle.ErrUntrustedKey, bundle.ErrBadSignature, ...
	}
	current, _ := bundle.ParseVersion("1.2.2")
	fmt.Println("newer than the channel's release:", bundle.Compare(m.Version, current) > 0)

	n, err := io.Copy(io.Discard, bundle.NewPayloadReader(upload, m)) // a temporary file in a server
	if err != nil {
		log.Fatal(err) // bundle.ErrPayloadMismatch: discard the upload
	}
	fmt.Println("payload verified:", n == m.Payload.Size)
	fmt.Println("signed by:", s.KeyID()) // SHA-256 of the key's SPKI, as openssl computes it
	// Output:
	// newer than the channel's release: true
	// payload verified: true
	// signed by: fd110d301d2f077de1414b8f99f441b1403fab207b2052fbd2c065e4ee8e7dc2
}

// exampleBundle makes a bundle signed by key.
func exampleBundle(key crypto.Signer) io.Reader {
	image, err := os.ReadFile("testdata/app-ecdsa-p256.signed.bin")
	if err != nil {
		log.Fatal(err)
	}
	id, _ := age.GenerateX25519Identity()
	var tfb bytes.Buffer
	_, err = bundle.Create(context.Background(), &tfb, bytes.NewReader(image), bundle.Manifest{
		Product: "thermo-x2",
		Version: bundle.Version{Major: 1, Minor: 2, Patch: 3, Build: "4"},
		Channel: "stable",
	}, bundle.CreateOptions{Key: key, To: bundle.Recipients{Keys: []bundle.Recipient{id.Recipient()}}})
	if err != nil {
		log.Fatal(err)
	}
	return &tfb
}

// Seal an image into a payload file the caller writes, then sign the
// manifest the Sealer completed.
func ExampleSeal() {
	image, err := os.Open("testdata/app-ed25519.signed.bin")
	if err != nil {
		log.Fatal(err)
	}
	defer image.Close()
	technician, err := age.GenerateX25519Identity()
	if err != nil {
		log.Fatal(err)
	}

	var payload bytes.Buffer // a temporary file for large images
	sl, err := bundle.Seal(&payload, bundle.Manifest{
		Format:  bundle.ManifestFormat,
		Product: "thermo-x2",
		Version: bundle.Version{Major: 1, Minor: 2, Patch: 3},
		Channel: "stable",
	}, bundle.Recipients{Keys: []bundle.Recipient{technician.Recipient()}})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := io.Copy(sl, image); err != nil {
		log.Fatal(err)
	}
	if err := sl.Close(); err != nil {
		log.Fatal(err)
	}
	m, err := sl.Manifest()
	if err != nil {
		log.Fatal(err)
	}
	m.Created = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	releaseKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	if _, err := bundle.Sign(nil, &m, releaseKey); err != nil {
		log.Fatal(err)
	}
	fmt.Println("image SHA256 TLV:", m.Image.SHA256)
	fmt.Println("payload bytes written:", m.Payload.Size == int64(payload.Len()))
	fmt.Println("recipients:", len(m.Recipients))
	// Output:
	// image SHA256 TLV: 76a356a87ca01a018cfb19aa0055713b647727a15d4a8df80d2aada03ee9e4e3
	// payload bytes written: true
	// recipients: 1
}
