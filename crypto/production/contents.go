package production

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"

	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
	"trustforge/crypto/pki"
	"trustforge/internal/cbor"
	"trustforge/internal/usererr"
)

// Contents is a package's secret part, age-encrypted to its stations.
type Contents struct {
	// Image is the MCUboot image the package programs: in the clear (for
	// ImageDevice, signed with the encryption flag, as imgtool --clear
	// writes it); or an ESP32 flash set's parts back to back.
	Image []byte
	// CAKey is the batch CA's private key (ECDSA P-256).
	CAKey *keys.PrivateKey
}

type wireContents struct {
	Format uint64 `cbor:"format"`
	Image  []byte `cbor:"image"`
	CAKey  []byte `cbor:"ca_key"` // PKCS#8 DER
}

// maxContents bounds the decrypted contents.
const maxContents = MaxImageSize + 64<<10

func (c *Contents) encode() ([]byte, error) {
	der, err := c.CAKey.MarshalPKCS8()
	if err != nil {
		return nil, usererr.Errorf("production", "batch CA key: %w", err)
	}
	b, err := cbor.MarshalDeterministic(wireContents{Format: Format, Image: c.Image, CAKey: der})
	if err != nil {
		return nil, usererr.Errorf("production", "encode contents: %w", err)
	}
	return b, nil
}

// decodeContents decodes the plaintext of a payload in its one encoding.
func decodeContents(b []byte) (*Contents, error) {
	if len(b) > maxContents {
		return nil, usererr.Errorf("", "%w: contents of %d bytes", ErrMalformed, len(b))
	}
	var w wireContents
	if err := cbor.UnmarshalStrict(b, &w, limits(16)); err != nil {
		return nil, usererr.Errorf("", "%w: contents: %v", ErrMalformed, err)
	}
	if w.Format != Format {
		return nil, usererr.Errorf("", "%w: contents format %d", ErrUnsupported, w.Format)
	}
	if again, err := cbor.MarshalDeterministic(w); err != nil || !bytes.Equal(again, b) {
		return nil, usererr.Errorf("", "%w: contents are not in canonical CBOR encoding", ErrMalformed)
	}
	k, err := keys.ParsePKCS8(w.CAKey)
	if err != nil {
		return nil, usererr.Errorf("", "%w: batch CA key: %v", ErrMalformed, err)
	}
	return &Contents{Image: w.Image, CAKey: k}, nil
}

// check verifies that c is what m describes: the image's size and SHA256
// TLV, an image whose hash verifies as it is stored (in the clear), a
// clear image signed for encryption in ImageDevice mode, and a CA key that
// is the batch CA's. Errors wrap ErrModified (or ErrMalformed for an image
// that does not fit its mode).
func (c *Contents) check(m *Manifest) error {
	if int64(len(c.Image)) != m.Release.Image.Size {
		return usererr.Errorf("", "%w: the image is %d bytes, the manifest says %d", ErrModified, len(c.Image), m.Release.Image.Size)
	}
	if m.Release.IsFlashSet() {
		if err := checkFlashSet(c.Image, m.Release); err != nil {
			return err
		}
		return c.checkCA(m)
	}
	img, err := mcuimg.Parse(c.Image)
	if err != nil {
		return usererr.Errorf("", "%w: the image: %v", ErrModified, err)
	}
	_, h, ok := img.Hash()
	if !ok || len(h) != sha256.Size || subtle.ConstantTimeCompare(h, m.Release.Image.SHA256[:]) != 1 {
		return usererr.Errorf("", "%w: the image's SHA256 TLV is not the manifest's", ErrModified)
	}
	if _, err := img.Verify(mcuimg.VerifyOptions{}); err != nil {
		return usererr.Errorf("", "%w: the image is not in the clear or is damaged: %v", ErrMalformed, err)
	}
	if m.ImageMode == ImageDevice && !img.Encrypted() {
		return usererr.Errorf("", "%w: image mode %q needs an image signed for encryption (imgtool --clear)", ErrMalformed, ImageDevice)
	}
	return c.checkCA(m)
}

// checkCA checks that the CA key is the batch CA's.
func (c *Contents) checkCA(m *Manifest) error {
	ca, _, err := m.Certificates()
	if err != nil {
		return err
	}
	if _, err := pki.BatchSigner(ca, c.CAKey); err != nil {
		return usererr.Errorf("", "%w: the batch CA key: %v", ErrModified, err)
	}
	return nil
}
