package pki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net/url"
	"time"

	"trustforge/crypto/keys"
	"trustforge/internal/usererr"
)

// DeviceCert is what Issue needs to certify one device.
type DeviceCert struct {
	// Subject is the subject and URI, from a checked CSR.
	Subject Subject
	// Key is the device's identity public key (ECDSA P-256).
	Key *keys.PublicKey
	// Template gives validity, key usages and the CRL distribution point.
	Template Template
	// Serial is the certificate's serial number (see NewSerial).
	Serial *big.Int
	// Now is the start of validity; zero means time.Now.
	Now time.Time
	// Extensions are added to the certificate as they are, such as the
	// production ticket a station's device carries (crypto/production).
	// Their OIDs must not be ones Issue sets itself.
	Extensions []pkix.Extension
}

// Issue signs a device certificate with issuer (a product intermediate):
// the subject and URI given, digital signature key usage, TLS client (and,
// when the template asks, server) authentication, and the template's
// validity, no longer than the issuer's. The certificate is parsed back
// and its signature checked before it is returned.
func Issue(rand io.Reader, issuer *CA, d DeviceCert) (*x509.Certificate, error) {
	if issuer == nil || issuer.Signer == nil || !issuer.Cert.IsCA {
		return nil, usererr.Errorf("", "%w: no issuing CA", ErrInvalid)
	}
	if d.Key == nil || d.Key.Algorithm() != keys.ECDSAP256 {
		return nil, usererr.Errorf("", "%w: device identity keys are ECDSA P-256", ErrKeyType)
	}
	if d.Serial == nil || d.Serial.Sign() <= 0 {
		return nil, usererr.Errorf("", "%w: no serial number", ErrInvalid)
	}
	if err := d.Template.Validate(); err != nil {
		return nil, err
	}
	raw, err := d.Subject.Name.marshal()
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(d.Subject.URI)
	if err != nil || u.Scheme != "urn" {
		return nil, usererr.Errorf("", "%w: device URI %q", ErrInvalid, d.Subject.URI)
	}
	skid, err := keyID(d.Key.Crypto())
	if err != nil {
		return nil, err
	}
	now := d.Now
	if now.IsZero() {
		now = time.Now()
	}
	start := now.UTC().Truncate(time.Second)
	end := noExpiry
	if d.Template.Validity > 0 {
		end = start.Add(d.Template.Validity)
	}
	if end.After(issuer.Cert.NotAfter) && d.Template.Validity > 0 {
		end = issuer.Cert.NotAfter
	}
	eku := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if d.Template.ServerAuth {
		eku = append(eku, x509.ExtKeyUsageServerAuth)
	}
	tmpl := &x509.Certificate{
		SerialNumber: d.Serial, RawSubject: raw, NotBefore: start, NotAfter: end,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: eku,
		BasicConstraintsValid: true, IsCA: false,
		SubjectKeyId:    skid,
		URIs:            []*url.URL{u},
		ExtraExtensions: d.Extensions,
	}
	if d.Template.CRLURL != "" {
		tmpl.CRLDistributionPoints = []string{d.Template.CRLURL}
	}
	c, err := sign(rand, tmpl, issuer.Cert, d.Key.Crypto(), issuer.Signer)
	if err != nil {
		return nil, err
	}
	return c.Cert, nil
}
