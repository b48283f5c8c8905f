package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"

	"trustforge/crypto/keys"
	"trustforge/internal/usererr"
)

// MaxCSRSize bounds a certificate signing request read from a board.
const MaxCSRSize = 4 << 10

// CSRPolicy is what a board's certificate signing request must be to be
// certified for one device of one product.
type CSRPolicy struct {
	// Template is the product's certificate template.
	Template Template
	// Base is the issuing intermediate's subtree (O, OU).
	Base Name
	// Product is the product name the template's {product} stands for.
	Product string
	// DeviceID is the board's unique id, as it reported it.
	DeviceID string
	// Key, if not nil, is the identity public key the board reported when
	// it generated it: the request must carry that key.
	Key *keys.PublicKey
}

// CSR is a certificate signing request that passed a CSRPolicy.
type CSR struct {
	// Subject is the subject and URI the certificate will carry.
	Subject Subject
	// Key is the board's identity public key (ECDSA P-256).
	Key *keys.PublicKey
	// Raw is the request, DER.
	Raw []byte
}

// DecodeCSR returns the DER of a request given as DER or as a PEM
// "CERTIFICATE REQUEST" block.
func DecodeCSR(data []byte) ([]byte, error) {
	t := bytes.TrimSpace(data)
	if !bytes.HasPrefix(t, []byte("-----BEGIN")) {
		return data, nil
	}
	b, _ := pem.Decode(t)
	if b == nil || (b.Type != "CERTIFICATE REQUEST" && b.Type != "NEW CERTIFICATE REQUEST") {
		return nil, usererr.Errorf("", "%w: not a PEM certificate request", ErrMalformed)
	}
	return b.Bytes, nil
}

// Check parses der, a PKCS#10 request a board made, and checks it against
// p: its signature under the key it carries (proof of possession), an
// ECDSA P-256 key, the board's key if p.Key is set, exactly the subject
// the template makes for this device, and no alternative name but the
// template's URI. Nothing is taken from the request but its key.
func (p CSRPolicy) Check(der []byte) (*CSR, error) {
	want, err := p.Template.Render(p.Base, p.Product, p.DeviceID)
	if err != nil {
		return nil, err
	}
	if len(der) == 0 || len(der) > MaxCSRSize {
		return nil, usererr.Errorf("", "%w: certificate request of %d bytes (at most %d)", ErrMalformed, len(der), MaxCSRSize)
	}
	req, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, usererr.Errorf("", "%w: certificate request: %v", ErrMalformed, err)
	}
	if err := req.CheckSignature(); err != nil {
		return nil, usererr.Errorf("", "%w: the certificate request's signature does not verify under its own key: the board does not hold that key (%v)", ErrBadSignature, err)
	}
	ec, ok := req.PublicKey.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, usererr.Errorf("", "%w: the request's key is %v, want ECDSA P-256", ErrKeyType, req.PublicKeyAlgorithm)
	}
	pub, err := keys.NewPublicKey(ec)
	if err != nil {
		return nil, usererr.Errorf("", "%w: %v", ErrKeyType, err)
	}
	if p.Key != nil && !pub.Equal(p.Key) {
		return nil, usererr.Errorf("", "%w: the request carries key %s, the board generated %s", ErrKeyMismatch, pub.Fingerprint(), p.Key.Fingerprint())
	}
	id, _ := ParseDeviceID(p.DeviceID)
	subj, err := parseName(req.RawSubject)
	if err != nil {
		return nil, usererr.Errorf("", "%w: request subject: %v", ErrSubject, err)
	}
	if !subj.Equal(want.Name) {
		if other, ok := p.Template.idFromCN(subj.Get("CN"), p.Product); ok && other != id {
			return nil, usererr.Errorf("", "%w: the request is for device %s, but the board is %s", ErrWrongDevice, other, id)
		}
		return nil, usererr.Errorf("", "%w: the request's subject is %q, want %q", ErrSubject, subj, want.Name)
	}
	if len(req.DNSNames)+len(req.EmailAddresses)+len(req.IPAddresses) > 0 {
		return nil, usererr.Errorf("", "%w: the request asks for DNS, e-mail or IP alternative names", ErrSubject)
	}
	switch {
	case len(req.URIs) > 1:
		return nil, usererr.Errorf("", "%w: the request asks for %d URIs", ErrSubject, len(req.URIs))
	case len(req.URIs) == 1 && req.URIs[0].String() != want.URI:
		if other, ok := p.Template.idFromURI(req.URIs[0].String(), p.Product); ok && other != id {
			return nil, usererr.Errorf("", "%w: the request names device %s in its URI, but the board is %s", ErrWrongDevice, other, id)
		}
		return nil, usererr.Errorf("", "%w: the request asks for URI %q, want %q", ErrSubject, req.URIs[0], want.URI)
	}
	return &CSR{Subject: want, Key: pub, Raw: append([]byte(nil), der...)}, nil
}
