package pki

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"time"

	"trustforge/internal/usererr"
)

// Revocation reasons (RFC 5280, 5.3.1) a console offers.
const (
	ReasonUnspecified          = 0
	ReasonKeyCompromise        = 1
	ReasonAffiliationChanged   = 3
	ReasonSuperseded           = 4
	ReasonCessationOfOperation = 5
)

// ReasonName returns the RFC 5280 name of a revocation reason code.
func ReasonName(code int) string {
	switch code {
	case ReasonUnspecified:
		return "unspecified"
	case ReasonKeyCompromise:
		return "keyCompromise"
	case ReasonAffiliationChanged:
		return "affiliationChanged"
	case ReasonSuperseded:
		return "superseded"
	case ReasonCessationOfOperation:
		return "cessationOfOperation"
	}
	return fmt.Sprintf("reason %d", code)
}

// ParseReason returns the code of a reason named as ReasonName names it.
func ParseReason(s string) (int, error) {
	for _, c := range []int{ReasonUnspecified, ReasonKeyCompromise, ReasonAffiliationChanged, ReasonSuperseded, ReasonCessationOfOperation} {
		if ReasonName(c) == s {
			return c, nil
		}
	}
	return 0, usererr.Errorf("", "%w: revocation reason %q (want keyCompromise, superseded, cessationOfOperation, affiliationChanged or unspecified)", ErrInvalid, s)
}

// Revoked is one revoked certificate.
type Revoked struct {
	Serial *big.Int
	At     time.Time
	Reason int
}

// DefaultCRLValidity is how long a CRL is good for before relying parties
// should fetch a new one.
const DefaultCRLValidity = 7 * 24 * time.Hour

// CRLOptions describe a revocation list.
type CRLOptions struct {
	// Number is the CRL number; it must rise with every list an issuer
	// publishes.
	Number *big.Int
	// Now is thisUpdate; zero means time.Now.
	Now time.Time
	// Validity is the time to nextUpdate; zero means DefaultCRLValidity.
	Validity time.Duration
}

// NewCRL signs the revocation list of issuer's certificates.
func NewCRL(rand io.Reader, issuer *CA, revoked []Revoked, o CRLOptions) ([]byte, error) {
	if issuer == nil || issuer.Signer == nil {
		return nil, usererr.Errorf("", "%w: no issuing CA", ErrInvalid)
	}
	if o.Number == nil || o.Number.Sign() <= 0 {
		return nil, usererr.Errorf("", "%w: CRL number", ErrInvalid)
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	if o.Validity <= 0 {
		o.Validity = DefaultCRLValidity
	}
	now = now.UTC().Truncate(time.Second)
	entries := make([]x509.RevocationListEntry, 0, len(revoked))
	for _, r := range revoked {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: r.Serial, RevocationTime: r.At.UTC().Truncate(time.Second), ReasonCode: r.Reason})
	}
	if rand == nil {
		rand = defaultRand()
	}
	der, err := x509.CreateRevocationList(rand, &x509.RevocationList{
		Number: o.Number, ThisUpdate: now, NextUpdate: now.Add(o.Validity), RevokedCertificateEntries: entries,
	}, issuer.Cert, issuer.Signer)
	if err != nil {
		return nil, usererr.Errorf("pki", "signing the CRL: %w", err)
	}
	return der, nil
}

// MaxCRLSize bounds a CRL read from outside.
const MaxCRLSize = 1 << 20

// ParseCRL reads a CRL given as DER or as a PEM "X509 CRL" block and, when
// issuer is not nil, checks its signature.
func ParseCRL(data []byte, issuer *x509.Certificate) (*x509.RevocationList, error) {
	if t := bytes.TrimSpace(data); bytes.HasPrefix(t, []byte("-----BEGIN")) {
		b, _ := pem.Decode(t)
		if b == nil || b.Type != "X509 CRL" {
			return nil, usererr.Errorf("", "%w: not a PEM X509 CRL", ErrMalformed)
		}
		data = b.Bytes
	}
	if len(data) == 0 || len(data) > MaxCRLSize {
		return nil, usererr.Errorf("", "%w: CRL of %d bytes", ErrMalformed, len(data))
	}
	l, err := x509.ParseRevocationList(data)
	if err != nil {
		return nil, usererr.Errorf("", "%w: CRL: %v", ErrMalformed, err)
	}
	if issuer != nil {
		if err := l.CheckSignatureFrom(issuer); err != nil {
			return nil, usererr.Errorf("", "%w: CRL: %v", ErrBadSignature, err)
		}
	}
	return l, nil
}

// CRLPEM returns a CRL as a PEM "X509 CRL" block.
func CRLPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}
