package mastering

import (
	"bytes"
	"context"
	"strings"
	"time"

	"filippo.io/age"

	"trustforge/crypto/bundle"
	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
	"trustforge/crypto/pki"
	"trustforge/crypto/production"
	"trustforge/internal/usererr"
	"trustforge/wasm/release"
)

// Input is what a production package is built from.
type Input struct {
	// Release is the release to program, verified in this browser.
	Release release.Checked
	// Payload is the release's age payload, as downloaded.
	Payload []byte
	// Identities are the vault's age identities, to open the release.
	Identities []age.Identity
	// DecryptionKeys are the vault's image encryption keys (X25519,
	// P-256): an image encrypted to one of them is turned back into its
	// clear form for the package.
	DecryptionKeys []*keys.PrivateKey
	// CA is the device CA, its vault unlocked: it makes the batch CA.
	CA *pki.Authority
	// Profile is the product's provisioning profile.
	Profile pki.Profile
	// Batch names the order.
	Batch string
	// Count is the number of devices the order authorises.
	Count int
	// NotBefore is when the order opens; zero means now.
	NotBefore time.Time
	// Expires is when the order ends. Required.
	Expires time.Time
	// Mode is the image mode; empty means production.ImageDevice when the
	// profile encrypts images to each board, else production.ImageClear.
	// An ESP32 flash set is always production.ImageClear.
	Mode production.ImageMode
	// Stations are the age recipients of the stations ("age1…").
	Stations []string
	// Key signs the package: a release key registered for the product.
	Key *keys.PrivateKey
	// Notes are free text for the line.
	Notes string
	// DFU is how a station programs USB DFU boards (an STM32's address,
	// read-out protection); the zero value keeps the defaults. An ESP32
	// flash set takes none.
	DFU production.DFU
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Yield hands the browser a turn during long work; nil does nothing.
	Yield release.Yield
}

// Built is a production package ready to upload.
type Built struct {
	// TFP is the .tfp file.
	TFP []byte
	// ID is the package's id.
	ID string
	// Manifest is its manifest.
	Manifest *production.Manifest
	// Batch is the batch CA's certificate.
	BatchCA []byte
}

// Build makes a production package.
func Build(ctx context.Context, in Input) (*Built, error) {
	if !in.Release.Verified() {
		return nil, usererr.New("mastering", "the release is not verified in this browser")
	}
	if in.CA == nil || in.Key == nil || !in.Key.Algorithm().CanSign() {
		return nil, usererr.New("mastering", "a device CA and a signing key are needed")
	}
	if in.Profile.Product != in.Release.Release.Product {
		return nil, usererr.Errorf("mastering", "the profile is %s's, the release %s's", in.Profile.Product, in.Release.Release.Product)
	}
	now := time.Now
	if in.Now != nil {
		now = in.Now
	}
	start := in.NotBefore
	if start.IsZero() {
		start = now()
	}
	start = start.UTC().Truncate(time.Second)
	expires := in.Expires.UTC().Truncate(time.Second)
	mode := in.Mode
	flashSet := in.Release.Manifest != nil && in.Release.Manifest.IsFlashSet()
	switch {
	case flashSet && in.DFU != (production.DFU{}):
		return nil, usererr.New("mastering", "an ESP32 flash set is not programmed over USB DFU: clear the STM32 address and read-out protection")
	case flashSet && mode == production.ImageDevice:
		return nil, usererr.New("mastering", "an ESP32 flash set is programmed as it is: the chip's own flash encryption covers it")
	case flashSet:
		mode = production.ImageClear
	case mode == "":
		mode = production.ImageClear
		if in.Profile.EncryptImages {
			mode = production.ImageDevice
		}
	}
	var stations []bundle.Recipient
	for _, s := range in.Stations {
		r, err := bundle.ParseRecipient(strings.TrimSpace(s))
		if err != nil {
			return nil, usererr.Errorf("mastering", "station: %w", err)
		}
		stations = append(stations, r)
	}
	if len(stations) == 0 {
		return nil, usererr.New("mastering", "choose the station that will program the boards")
	}
	if err := pki.CheckBatch(in.Batch); err != nil {
		return nil, err
	}
	if in.Count < 1 || in.Count > production.MaxCount {
		return nil, usererr.Errorf("mastering", "an authorised count of %d (1 to %d)", in.Count, production.MaxCount)
	}
	if !expires.After(start) {
		return nil, usererr.New("mastering", "the order must end after it starts")
	}

	image, err := release.Open(ctx, in.Release, in.Payload, in.Identities, nil, in.Yield)
	if err != nil {
		return nil, err
	}
	if !flashSet {
		if image, err = ForMode(image, mode, in.DecryptionKeys); err != nil {
			return nil, err
		}
	}
	batch, err := in.CA.NewBatch(ctx, pki.BatchOptions{Product: in.Profile.Product, Batch: in.Batch, NotBefore: start, NotAfter: expires})
	if err != nil {
		return nil, err
	}
	signer, err := in.Key.Signer()
	if err != nil {
		return nil, err
	}
	rid, err := bundle.ParseDigest(in.Release.Release.ID)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	s, err := production.Build(ctx, &out, production.BuildInput{
		Manifest: production.Manifest{
			Product: in.Profile.Product, Batch: in.Batch, Count: in.Count, NotBefore: start, Expires: expires,
			Release: production.Release{ID: rid, Version: in.Release.Manifest.Version.String(), Component: in.Release.Manifest.Component,
				ImageFormat: in.Release.Manifest.ImageFormat, Parts: in.Release.Manifest.Parts},
			ImageMode: mode, Profile: production.ProfileOf(in.Profile),
			CA: batch.CA.Cert.Raw, Root: batch.Root.Raw, Notes: in.Notes, DFU: in.DFU,
		},
		Image: image, CAKey: batch.Key, Stations: stations, Key: signer, Now: now,
	})
	if err != nil {
		return nil, err
	}
	m, err := s.VerifyIntegrity()
	if err != nil {
		return nil, err
	}
	return &Built{TFP: out.Bytes(), ID: s.ID(), Manifest: m, BatchCA: batch.CA.Cert.Raw}, nil
}

// ForMode returns the image a package of that mode carries: the image
// proper (no slot padding), in the clear. An image encrypted to one of
// keys is decrypted to its clear form; ImageDevice needs an image signed
// for encryption (imgtool --clear, or encrypted when released).
func ForMode(image []byte, mode production.ImageMode, keys []*keys.PrivateKey) ([]byte, error) {
	img, err := mcuimg.Parse(image)
	if err != nil {
		return nil, usererr.Errorf("mastering", "the release image: %w", err)
	}
	if mode == production.ImageDevice && !img.Encrypted() {
		return nil, usererr.New("mastering", "boards' own keys need an image signed for encryption: publish the release encrypted "+
			"(or signed with imgtool --clear), or program it in the clear")
	}
	if _, err := img.Verify(mcuimg.VerifyOptions{}); err == nil {
		return bytes.Clone(img.Bytes()), nil
	}
	if !img.Encrypted() {
		return nil, usererr.Errorf("mastering", "the release image does not verify")
	}
	for _, k := range keys {
		if !k.Algorithm().CanEncrypt() {
			continue
		}
		clear, err := img.Decrypt(k)
		if err != nil {
			continue
		}
		if c, err := mcuimg.Parse(clear); err == nil {
			if _, err := c.Verify(mcuimg.VerifyOptions{}); err == nil {
				return clear, nil
			}
		}
	}
	return nil, usererr.New("mastering", "the release image is encrypted to a key this vault does not hold: "+
		"import the image encryption key, or publish the release signed for encryption but in the clear")
}
