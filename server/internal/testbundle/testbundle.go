// Package testbundle makes real release bundles (.tfb) for the release
// server's tests and benchmarks: an MCUboot image of a chosen size whose
// plaintext is a recognisable pattern, encrypted with age and signed with a
// deterministic Ed25519 key.
package testbundle

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"time"

	"filippo.io/age"

	"trustforge/crypto/bundle"
	"trustforge/crypto/mcuimg"
)

// Marker is the plaintext pattern every test image repeats, so a test can
// grep storage for it.
const Marker = "TRUSTFORGE-PLAINTEXT-FIRMWARE-MARKER:"

// Signer is a release-signing key for tests.
type Signer struct {
	Key crypto.Signer
}

// NewSigner returns the Ed25519 key derived from seed.
func NewSigner(seed byte) Signer {
	return Signer{Key: ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))}
}

// PublicPEM returns the key's public half as PEM, as an admin registers it.
func (s Signer) PublicPEM() string {
	der, err := x509.MarshalPKIXPublicKey(s.Key.Public())
	if err != nil {
		panic(err) // an Ed25519 key always marshals
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// PrivatePEM returns the key as PKCS#8 PEM, as imgtool keygen writes it.
func (s Signer) PrivatePEM() string {
	der, err := x509.MarshalPKCS8PrivateKey(s.Key)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// Fingerprint returns the key's fingerprint.
func (s Signer) Fingerprint() string {
	fp, err := bundle.KeyFingerprint(s.Key.Public())
	if err != nil {
		panic(err)
	}
	return fp
}

// Release describes a bundle to make.
type Release struct {
	Product   string
	Component int
	Channel   string
	Version   string // MCUboot-compatible: major.minor.revision[+build]
	Counter   uint32
	ImageSize int64 // bytes of image payload before the MCUboot header and TLVs; zero means 4 KiB
}

// Write makes a bundle and writes it to w. It streams: memory does not
// grow with ImageSize (it uses temporary files in dir).
func (s Signer) Write(ctx context.Context, w io.Writer, dir string, r Release) error {
	if r.ImageSize == 0 {
		r.ImageSize = 4096
	}
	iv, err := mcuimg.ParseVersion(r.Version)
	if err != nil {
		return err
	}
	bv, err := bundle.ParseVersion(r.Version)
	if err != nil {
		return err
	}
	img, err := os.CreateTemp(dir, "image-*")
	if err != nil {
		return err
	}
	defer os.Remove(img.Name())
	defer img.Close()
	counter := r.Counter
	if _, err := mcuimg.SignTo(ctx, img, io.LimitReader(pattern{}, r.ImageSize), r.ImageSize,
		&mcuimg.SignOptions{Version: iv, PadHeader: true, SecurityCounter: &counter}); err != nil {
		return fmt.Errorf("testbundle: image: %w", err)
	}
	if _, err := img.Seek(0, io.SeekStart); err != nil {
		return err
	}
	scratch, err := os.CreateTemp(dir, "payload-*")
	if err != nil {
		return err
	}
	defer os.Remove(scratch.Name())
	defer scratch.Close()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return err
	}
	rcpt, err := bundle.ParseRecipient(id.Recipient().String())
	if err != nil {
		return err
	}
	m := bundle.Manifest{Product: r.Product, Component: r.Component, Version: bv, SecurityCounter: r.Counter,
		Channel: r.Channel, Hardware: []string{"test-board"}, Notes: "made by testbundle"}
	_, err = bundle.Create(ctx, w, img, m, bundle.CreateOptions{
		Key: s.Key, To: bundle.Recipients{Keys: []bundle.Recipient{rcpt}}, Scratch: scratch,
		Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
	})
	return err
}

// Make returns a small bundle in memory.
func (s Signer) Make(dir string, r Release) ([]byte, error) {
	var buf bytes.Buffer
	err := s.Write(context.Background(), &buf, dir, r)
	return buf.Bytes(), err
}

// pattern is an endless reader of Marker.
type pattern struct{}

func (pattern) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = Marker[i%len(Marker)]
	}
	return len(p), nil
}
