package production

import (
	"bytes"
	"context"
	"crypto"
	"io"
	"time"

	"trustforge/crypto/bundle"
	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
	"trustforge/internal/usererr"
)

// BuildInput is what Build makes a package of.
type BuildInput struct {
	// Manifest describes the order: Product, Batch, Count, NotBefore,
	// Expires, Release (ID, Version, Component; Image is filled from the
	// image), ImageMode, Profile, CA, Root and Notes. Build fills Format,
	// Created (when zero), Stations and Payload.
	Manifest Manifest
	// Image is the MCUboot image to program, in the clear; or, when
	// Manifest.Release is a flash set, its parts back to back.
	Image []byte
	// CAKey is the batch CA's private key, sealed into the payload.
	CAKey *keys.PrivateKey
	// Stations are the age recipients of the stations that may open the
	// package. Required.
	Stations []bundle.Recipient
	// Key signs the manifest: a release-signing key registered for the
	// product (ECDSA P-256 or Ed25519). Required.
	Key crypto.Signer
	// Rand is the randomness of ECDSA signatures; nil means crypto/rand.
	Rand io.Reader
	// Now gives Created when it is zero; nil means time.Now.
	Now func() time.Time
}

// Build makes a complete .tfp and writes it to w: it checks the image and
// the CA key against the manifest, encrypts them to the stations, signs
// the manifest and writes header, signed manifest and payload. It returns
// the signed manifest.
func Build(ctx context.Context, w io.Writer, in BuildInput) (*Signed, error) {
	if in.Key == nil {
		return nil, usererr.New("production", "build: no signing key")
	}
	if in.CAKey == nil {
		return nil, usererr.New("production", "build: no batch CA key")
	}
	if len(in.Stations) == 0 || len(in.Stations) > MaxStations {
		return nil, usererr.Errorf("production", "build: %d stations (want 1 to %d)", len(in.Stations), MaxStations)
	}
	if len(in.Image) == 0 || len(in.Image) > MaxImageSize {
		return nil, usererr.Errorf("production", "build: an image of %d bytes (1 to %d)", len(in.Image), MaxImageSize)
	}
	m := in.Manifest
	m.Format = Format
	if m.Created.IsZero() {
		now := time.Now
		if in.Now != nil {
			now = in.Now
		}
		m.Created = now().UTC().Truncate(time.Second)
	}
	if !m.Release.IsFlashSet() && (m.Release.ImageFormat != "" || len(m.Release.Parts) > 0) {
		probe := Manifest{Release: Release{ImageFormat: m.Release.ImageFormat, Parts: m.Release.Parts}}
		return nil, probe.validateFormat()
	}
	var info bundle.ImageInfo
	if m.Release.IsFlashSet() {
		info = flashSetInfo(in.Image)
	} else {
		img, err := mcuimg.Parse(in.Image)
		if err != nil {
			return nil, usererr.Errorf("production", "build: the image: %w", err)
		}
		_, h, ok := img.Hash()
		if !ok || len(h) != len(m.Release.Image.SHA256) {
			return nil, usererr.New("production", "build: the image has no SHA256 TLV")
		}
		info = bundle.ImageInfo{Size: int64(len(in.Image))}
		copy(info.SHA256[:], h)
	}
	if m.Release.Image != (bundle.ImageInfo{}) && m.Release.Image != info {
		return nil, usererr.Errorf("", "%w: the image (%d bytes, SHA256 TLV %s) is not the release's (%d bytes, %s)",
			ErrMalformed, info.Size, info.SHA256, m.Release.Image.Size, m.Release.Image.SHA256)
	}
	m.Release.Image = info
	m.Stations = make([]string, 0, len(in.Stations))
	for _, r := range in.Stations {
		if r == nil {
			return nil, usererr.New("production", "build: nil station recipient")
		}
		m.Stations = append(m.Stations, r.String())
	}
	// Validate what can be before encrypting (the payload is not made yet).
	probe := m
	probe.Payload = bundle.PayloadInfo{Size: 1}
	if err := probe.Validate(); err != nil {
		return nil, err
	}
	c := &Contents{Image: in.Image, CAKey: in.CAKey}
	if err := c.check(&probe); err != nil {
		return nil, err
	}
	plain, err := c.encode()
	if err != nil {
		return nil, err
	}
	var payload bytes.Buffer
	payload.Grow(len(plain) + len(plain)/64 + 1024)
	m.Payload, _, _, err = bundle.EncryptStream(ctx, &payload, bytes.NewReader(plain), bundle.Recipients{Keys: in.Stations})
	if err != nil {
		return nil, usererr.Errorf("production", "%w", err)
	}
	s, err := sign(in.Rand, &m, in.Key)
	if err != nil {
		return nil, err
	}
	if err := WriteHeader(w, s); err != nil {
		return nil, err
	}
	if _, err := w.Write(payload.Bytes()); err != nil {
		return nil, usererr.Errorf("production", "write payload: %w", err)
	}
	return s, nil
}
