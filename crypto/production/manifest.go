package production

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"trustforge/internal/cbor"

	"trustforge/crypto/bundle"
	"trustforge/crypto/pki"
	"trustforge/internal/usererr"
)

// Format is the manifest and contents format this package writes and reads.
const Format = 1

// Limits of a manifest's fields.
const (
	// MaxCount bounds a package's authorised count.
	MaxCount = 1_000_000
	// MaxStations bounds the station recipients of a package.
	MaxStations = 16
	// MaxImageSize bounds the image a package carries.
	MaxImageSize = 64 << 20
	// MaxManifestSize bounds a signed manifest.
	MaxManifestSize = 256 << 10
	// maxNotes bounds a package's notes.
	maxNotes = 4 << 10
)

// ImageMode says how a station programs a package's image.
type ImageMode string

// Image modes.
const (
	// ImageDevice encrypts the image to each board's own X25519 key at
	// install time (the profile must make boards generate one, and the
	// image must be signed for encryption, as imgtool --clear makes it).
	// A blank board in serial recovery gets it in its primary slot in the
	// clear, as MCUboot keeps that slot.
	ImageDevice ImageMode = "device"
	// ImageClear programs the image as it is, for factory programming.
	ImageClear ImageMode = "clear"
)

// Release names the release a package programs.
type Release struct {
	// ID is the release's id on the server: the SHA-256 of its manifest.
	ID bundle.Digest `json:"id"`
	// Version is the release's version.
	Version string `json:"version"`
	// Component is the MCUboot image index.
	Component int `json:"component"`
	// Image is the SHA256 TLV and size of the image the package carries
	// (for a flash set, the SHA-256 of its parts back to back, as the
	// release manifest has it).
	Image bundle.ImageInfo `json:"image"`
	// ImageFormat is empty for an MCUboot image, or
	// bundle.ImageFormatESPFlashSet for an ESP32 flash set, whose Parts
	// are written at their offsets.
	ImageFormat string        `json:"image_format,omitempty"`
	Parts       []bundle.Part `json:"parts,omitempty"`
}

// Profile is the provisioning profile a package carries: crypto/pki's
// Profile without its issuer (the batch CA is the issuer) and its edit
// time.
type Profile struct {
	// Template is what the devices' certificates look like.
	Template pki.Template `json:"template"`
	// BootKeyHash is the hex SHA-256 of the boot key fused into each
	// board; empty leaves it unprovisioned.
	BootKeyHash string `json:"boot_key_hash,omitempty"`
	// EncryptImages makes each board generate an image encryption key.
	EncryptImages bool `json:"encrypt_images,omitempty"`
	// LeaveUnlocked skips the final lock.
	LeaveUnlocked bool `json:"leave_unlocked,omitempty"`
}

// PKI returns the profile as crypto/pki and devices/provision use it.
func (p Profile) PKI(product string) pki.Profile {
	return pki.Profile{Product: product, Template: p.Template, BootKeyHash: p.BootKeyHash,
		EncryptImages: p.EncryptImages, LeaveUnlocked: p.LeaveUnlocked}
}

// ProfileOf returns the package form of a pki profile.
func ProfileOf(p pki.Profile) Profile {
	return Profile{Template: p.Template, BootKeyHash: strings.ToLower(p.BootKeyHash), EncryptImages: p.EncryptImages, LeaveUnlocked: p.LeaveUnlocked}
}

// Manifest is a production package's public description: everything about
// the order that the release server and the station may know. It is
// signed as a COSE_Sign1; docs/production-format.md gives its CDDL.
type Manifest struct {
	// Format is the package Format.
	Format int `json:"format"`
	// Product names the product.
	Product string `json:"product"`
	// Batch names the order (see pki.CheckBatch).
	Batch string `json:"batch"`
	// Count is the number of devices the order authorises.
	Count int `json:"count"`
	// Created is when the package was made.
	Created time.Time `json:"created"`
	// NotBefore and Expires bound when devices may be built.
	NotBefore time.Time `json:"not_before"`
	Expires   time.Time `json:"expires"`
	// Release is the release the package programs.
	Release Release `json:"release"`
	// ImageMode says how the image is programmed.
	ImageMode ImageMode `json:"image_mode"`
	// Profile is how boards are provisioned.
	Profile Profile `json:"profile"`
	// CA is the batch CA's certificate, DER.
	CA []byte `json:"ca"`
	// Root is the root certificate the batch CA chains to, DER.
	Root []byte `json:"root"`
	// Stations are the age recipients of the stations that may open the
	// package.
	Stations []string `json:"stations"`
	// Payload is the size and SHA-256 of the encrypted payload.
	Payload bundle.PayloadInfo `json:"payload"`
	// Notes are free text for the line, at most 4 KiB.
	Notes string `json:"notes,omitempty"`
	// DFU says how a station programs USB DFU boards with the image; the
	// zero value writes a Zephyr board's upload slot and an STM32's
	// bootloader at the start of its flash, and leaves read-out
	// protection as it is.
	DFU DFU `json:"dfu,omitzero"`
}

// DFU is how a station programs the package's image on USB DFU boards.
type DFU struct {
	// Address is where an STM32's DfuSe bootloader gets the image; zero
	// means the start of the first flash memory it lists (0x08000000).
	Address uint32 `json:"address,omitempty"`
	// ReadOutProtection asks the station to set an STM32's read-out
	// protection to level 1 once the image is written and read back.
	// It cannot be undone without erasing the part's whole flash, so the
	// station's operator confirms it again before programming.
	ReadOutProtection bool `json:"read_out_protection,omitempty"`
}

type wireManifest struct {
	Format    uint64      `cbor:"format"`
	Product   string      `cbor:"product"`
	Batch     string      `cbor:"batch"`
	Count     uint64      `cbor:"count"`
	Created   uint64      `cbor:"created"`
	NotBefore uint64      `cbor:"not_before"`
	Expires   uint64      `cbor:"expires"`
	Release   wireRelease `cbor:"release"`
	ImageMode string      `cbor:"image_mode"`
	Profile   wireProfile `cbor:"profile"`
	CA        []byte      `cbor:"ca"`
	Root      []byte      `cbor:"root"`
	Stations  []string    `cbor:"stations"`
	Payload   wireInfo    `cbor:"payload"`
	Notes     string      `cbor:"notes,omitempty"`
	DFU       *wireDFU    `cbor:"dfu,omitempty"`
}

type wireDFU struct {
	Address           uint64 `cbor:"address,omitempty"`
	ReadOutProtection bool   `cbor:"read_out_protection,omitempty"`
}

type wireRelease struct {
	ID          []byte     `cbor:"id"`
	Version     string     `cbor:"version"`
	Component   uint64     `cbor:"component"`
	Image       wireInfo   `cbor:"image"`
	ImageFormat string     `cbor:"image_format,omitempty"`
	Parts       []wirePart `cbor:"parts,omitempty"`
}

type wireInfo struct {
	SHA256 []byte `cbor:"sha256"`
	Size   uint64 `cbor:"size"`
}

type wireProfile struct {
	CommonName    string `cbor:"common_name,omitempty"`
	URI           string `cbor:"uri,omitempty"`
	Validity      uint64 `cbor:"validity,omitempty"` // seconds
	ServerAuth    bool   `cbor:"server_auth,omitempty"`
	CRLURL        string `cbor:"crl_url,omitempty"`
	BootKeyHash   []byte `cbor:"boot_key_hash,omitempty"`
	EncryptImages bool   `cbor:"encrypt_images,omitempty"`
	LeaveUnlocked bool   `cbor:"leave_unlocked,omitempty"`
}

// limits bounds what the package's strict CBOR decoding accepts: maps
// within maps four deep, of at most 32 entries, arrays of at most maxArray
// elements.
func limits(maxArray int) cbor.Limits {
	return cbor.Limits{MaxNested: 4, MaxArray: maxArray, MaxPairs: 32}
}

func (m *Manifest) wire() (wireManifest, error) {
	w := wireManifest{
		Format: uint64(m.Format), Product: m.Product, Batch: m.Batch, Count: uint64(m.Count),
		Created: uint64(m.Created.Unix()), NotBefore: uint64(m.NotBefore.Unix()), Expires: uint64(m.Expires.Unix()),
		Release: wireRelease{ID: m.Release.ID[:], Version: m.Release.Version, Component: uint64(m.Release.Component),
			Image:       wireInfo{SHA256: m.Release.Image.SHA256[:], Size: uint64(m.Release.Image.Size)},
			ImageFormat: m.Release.ImageFormat, Parts: partsToWire(m.Release.Parts)},
		ImageMode: string(m.ImageMode),
		Profile: wireProfile{CommonName: m.Profile.Template.CommonName, URI: m.Profile.Template.URI,
			Validity: uint64(m.Profile.Template.Validity / time.Second), ServerAuth: m.Profile.Template.ServerAuth,
			CRLURL: m.Profile.Template.CRLURL, EncryptImages: m.Profile.EncryptImages, LeaveUnlocked: m.Profile.LeaveUnlocked},
		CA: m.CA, Root: m.Root, Stations: m.Stations,
		Payload: wireInfo{SHA256: m.Payload.SHA256[:], Size: uint64(m.Payload.Size)},
		Notes:   m.Notes,
	}
	if m.DFU != (DFU{}) {
		w.DFU = &wireDFU{Address: uint64(m.DFU.Address), ReadOutProtection: m.DFU.ReadOutProtection}
	}
	if m.Profile.BootKeyHash != "" {
		b, err := hex.DecodeString(m.Profile.BootKeyHash)
		if err != nil {
			return w, usererr.Errorf("", "%w: manifest: boot key hash: %v", ErrMalformed, err)
		}
		w.Profile.BootKeyHash = b
	}
	return w, nil
}

// encode validates m and returns its canonical CBOR.
func (m *Manifest) encode() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	w, err := m.wire()
	if err != nil {
		return nil, err
	}
	b, err := cbor.MarshalDeterministic(w)
	if err != nil {
		return nil, usererr.Errorf("production", "encode manifest: %w", err)
	}
	return b, nil
}

// decodeManifest decodes and validates a manifest in its one encoding.
func decodeManifest(b []byte) (*Manifest, error) {
	var w wireManifest
	var err error
	if err = cbor.UnmarshalStrict(b, &w, limits(MaxStations)); err != nil {
		return nil, usererr.Errorf("", "%w: manifest: %v", ErrMalformed, err)
	}
	if w.Format != Format {
		return nil, usererr.Errorf("", "%w: package format %d (want %d)", ErrUnsupported, w.Format, Format)
	}
	const maxTime = 1 << 40
	if w.Count > MaxCount || w.Created > maxTime || w.NotBefore > maxTime || w.Expires > maxTime ||
		w.Release.Component > bundle.MaxComponent || w.Release.Image.Size > MaxImageSize ||
		w.Payload.Size > 2*MaxImageSize || w.Profile.Validity > 1<<33 {
		return nil, usererr.Errorf("", "%w: manifest: a number is out of range", ErrMalformed)
	}
	if w.DFU != nil && w.DFU.Address > 1<<32-1 {
		return nil, usererr.Errorf("", "%w: manifest: the DFU address is over 32 bits", ErrMalformed)
	}
	if len(w.Release.ID) != 32 || len(w.Release.Image.SHA256) != 32 || len(w.Payload.SHA256) != 32 {
		return nil, usererr.Errorf("", "%w: manifest: a digest is not 32 bytes", ErrMalformed)
	}
	m := &Manifest{
		Format: int(w.Format), Product: w.Product, Batch: w.Batch, Count: int(w.Count),
		Created: time.Unix(int64(w.Created), 0).UTC(), NotBefore: time.Unix(int64(w.NotBefore), 0).UTC(),
		Expires: time.Unix(int64(w.Expires), 0).UTC(),
		Release: Release{Version: w.Release.Version, Component: int(w.Release.Component),
			Image: bundle.ImageInfo{Size: int64(w.Release.Image.Size)}, ImageFormat: w.Release.ImageFormat},
		ImageMode: ImageMode(w.ImageMode),
		Profile: Profile{Template: pki.Template{CommonName: w.Profile.CommonName, URI: w.Profile.URI,
			Validity: time.Duration(w.Profile.Validity) * time.Second, ServerAuth: w.Profile.ServerAuth, CRLURL: w.Profile.CRLURL},
			BootKeyHash: hex.EncodeToString(w.Profile.BootKeyHash), EncryptImages: w.Profile.EncryptImages, LeaveUnlocked: w.Profile.LeaveUnlocked},
		CA: w.CA, Root: w.Root, Stations: w.Stations, Payload: bundle.PayloadInfo{Size: int64(w.Payload.Size)}, Notes: w.Notes,
	}
	if m.Release.Parts, err = partsFromWire(w.Release.Parts); err != nil {
		return nil, err
	}
	if w.DFU != nil {
		m.DFU = DFU{Address: uint32(w.DFU.Address), ReadOutProtection: w.DFU.ReadOutProtection}
	}
	copy(m.Release.ID[:], w.Release.ID)
	copy(m.Release.Image.SHA256[:], w.Release.Image.SHA256)
	copy(m.Payload.SHA256[:], w.Payload.SHA256)
	if m.Stations == nil {
		m.Stations = []string{}
	}
	again, err := m.encode()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, b) {
		return nil, usererr.Errorf("", "%w: manifest is not in canonical CBOR encoding", ErrMalformed)
	}
	return m, nil
}

// Validate reports whether m is complete and well-formed. Errors wrap
// ErrMalformed or ErrUnsupported.
func (m *Manifest) Validate() error {
	bad := func(format string, args ...any) error {
		return usererr.Errorf("", "%w: manifest: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
	if m.Format != Format {
		return usererr.Errorf("", "%w: package format %d (want %d)", ErrUnsupported, m.Format, Format)
	}
	if err := pki.CheckProduct(m.Product); err != nil {
		return bad("%v", err)
	}
	if err := pki.CheckBatch(m.Batch); err != nil {
		return bad("%v", err)
	}
	switch {
	case m.Count < 1 || m.Count > MaxCount:
		return bad("authorised count %d: want 1 to %d", m.Count, MaxCount)
	case m.Created.Unix() <= 0 || m.Created.Nanosecond() != 0:
		return bad("created %v: want a whole second after 1970", m.Created)
	case m.NotBefore.Unix() <= 0 || m.NotBefore.Nanosecond() != 0 || m.Expires.Nanosecond() != 0:
		return bad("validity must be whole seconds after 1970")
	case !m.Expires.After(m.NotBefore):
		return bad("expires %s is not after not_before %s", m.Expires.Format(time.RFC3339), m.NotBefore.Format(time.RFC3339))
	case m.Expires.Sub(m.NotBefore) > pki.MaxBatchValidity:
		return bad("valid for more than %v", pki.MaxBatchValidity)
	case m.ImageMode != ImageDevice && m.ImageMode != ImageClear:
		return bad("image mode %q: want %q or %q", m.ImageMode, ImageDevice, ImageClear)
	case m.ImageMode == ImageDevice && !m.Profile.EncryptImages:
		return bad("image mode %q needs a profile that makes boards generate an encryption key", ImageDevice)
	case m.Release.Component < 0 || m.Release.Component > bundle.MaxComponent:
		return bad("component %d", m.Release.Component)
	case m.Release.Image.Size <= 0 || m.Release.Image.Size > MaxImageSize:
		return bad("image size %d: want 1 to %d", m.Release.Image.Size, MaxImageSize)
	case m.Payload.Size <= 0 || m.Payload.Size > 2*MaxImageSize:
		return bad("payload size %d", m.Payload.Size)
	case len(m.Stations) == 0 || len(m.Stations) > MaxStations:
		return bad("%d stations: want 1 to %d", len(m.Stations), MaxStations)
	case len(m.Notes) > maxNotes || !utf8.ValidString(m.Notes):
		return bad("notes: at most %d bytes of UTF-8", maxNotes)
	case m.DFU != (DFU{}) && m.Release.IsFlashSet():
		return bad("an ESP32 flash set is not programmed over USB DFU: no dfu settings")
	case len(m.CA) == 0 || len(m.CA) > pki.MaxCertSize || len(m.Root) == 0 || len(m.Root) > pki.MaxCertSize:
		return bad("the batch CA and root certificates must each be 1 to %d bytes", pki.MaxCertSize)
	}
	if _, err := bundle.ParseVersion(m.Release.Version); err != nil {
		return bad("release version: %v", err)
	}
	if err := m.validateFormat(); err != nil {
		return err
	}
	p := m.Profile.PKI(m.Product)
	if err := p.Validate(); err != nil {
		return bad("profile: %v", err)
	}
	if m.Profile.BootKeyHash != strings.ToLower(m.Profile.BootKeyHash) {
		return bad("profile: boot key hash must be lowercase hex")
	}
	if m.Profile.Template.Validity%time.Second != 0 {
		return bad("profile: certificate validity must be whole seconds")
	}
	for i, s := range m.Stations {
		if _, err := bundle.ParseRecipient(s); err != nil {
			return bad("station %d: %v", i+1, err)
		}
	}
	if _, _, err := m.Certificates(); err != nil {
		return err
	}
	return nil
}

// Certificates parses the batch CA's certificate and the root, and checks
// that the batch CA is a CA signed by the root whose validity covers the
// package's.
func (m *Manifest) Certificates() (ca, root *x509.Certificate, err error) {
	if ca, err = pki.ParseCA(m.CA); err != nil {
		return nil, nil, usererr.Errorf("", "%w: manifest: batch CA: %v", ErrMalformed, err)
	}
	if root, err = pki.ParseCA(m.Root); err != nil {
		return nil, nil, usererr.Errorf("", "%w: manifest: root: %v", ErrMalformed, err)
	}
	if bytes.Equal(ca.Raw, root.Raw) || ca.MaxPathLen != 0 || !ca.MaxPathLenZero {
		return nil, nil, usererr.Errorf("", "%w: manifest: the batch CA must be a CA of path length 0 under the root", ErrMalformed)
	}
	if err := ca.CheckSignatureFrom(root); err != nil {
		return nil, nil, usererr.Errorf("", "%w: manifest: the batch CA is not signed by the root: %v", ErrMalformed, err)
	}
	if ca.NotBefore.After(m.NotBefore) || ca.NotAfter.Before(m.Expires) {
		return nil, nil, usererr.Errorf("", "%w: manifest: the batch CA (valid %s to %s) does not cover the package's validity",
			ErrMalformed, ca.NotBefore.Format(time.RFC3339), ca.NotAfter.Format(time.RFC3339))
	}
	return ca, root, nil
}

// Chain returns the chain a device certified by the batch CA carries
// after its own certificate: the batch CA and the root.
func (m *Manifest) Chain() (pki.Chain, error) {
	ca, root, err := m.Certificates()
	if err != nil {
		return nil, err
	}
	return pki.Chain{ca, root}, nil
}

// Open reports whether devices may be built under m at now.
func (m *Manifest) Open(now time.Time) error {
	switch {
	case now.Before(m.NotBefore):
		return usererr.Errorf("", "%w: the order %s opens at %s", ErrExpired, m.Batch, m.NotBefore.Format(time.RFC3339))
	case !now.Before(m.Expires):
		return usererr.Errorf("", "%w: the order %s ended at %s", ErrExpired, m.Batch, m.Expires.Format(time.RFC3339))
	}
	return nil
}
