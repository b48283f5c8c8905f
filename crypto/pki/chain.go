package pki

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"trustforge/crypto/keys"
	"trustforge/internal/usererr"
)

// Chain bounds.
const (
	MaxChainCerts = 8
	MaxChainSize  = 32 << 10
)

// Chain is a device's certificate chain: its own certificate first, then
// the intermediate, then the root (the board's trust anchor).
type Chain []*x509.Certificate

// ParseChain reads a chain given as concatenated DER certificates (as a
// board stores it) or as PEM "CERTIFICATE" blocks, leaf first.
func ParseChain(data []byte) (Chain, error) {
	if len(data) == 0 || len(data) > MaxChainSize {
		return nil, usererr.Errorf("", "%w: chain of %d bytes (1 to %d)", ErrMalformed, len(data), MaxChainSize)
	}
	var ders [][]byte
	if t := bytes.TrimSpace(data); bytes.HasPrefix(t, []byte("-----BEGIN")) {
		for len(bytes.TrimSpace(t)) > 0 {
			var b *pem.Block
			b, t = pem.Decode(t)
			if b == nil {
				return nil, usererr.Errorf("", "%w: text after the last PEM certificate", ErrMalformed)
			}
			if b.Type != "CERTIFICATE" {
				return nil, usererr.Errorf("", "%w: PEM block %q in a chain", ErrMalformed, b.Type)
			}
			ders = append(ders, b.Bytes)
			if len(ders) > MaxChainCerts {
				break
			}
		}
	} else {
		in := cryptobyte.String(data)
		for !in.Empty() {
			var el cryptobyte.String
			if !in.ReadASN1Element(&el, cbasn1.SEQUENCE) {
				return nil, usererr.Errorf("", "%w: chain certificate %d is not DER", ErrMalformed, len(ders)+1)
			}
			ders = append(ders, el)
			if len(ders) > MaxChainCerts {
				break
			}
		}
	}
	if len(ders) > MaxChainCerts {
		return nil, usererr.Errorf("", "%w: more than %d certificates in a chain", ErrMalformed, MaxChainCerts)
	}
	out := make(Chain, 0, len(ders))
	for i, d := range ders {
		c, err := parseCert(d)
		if err != nil {
			return nil, usererr.Errorf("", "chain certificate %d: %w", i+1, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// DER returns the chain as concatenated DER certificates, leaf first.
func (c Chain) DER() []byte {
	var b []byte
	for _, x := range c {
		b = append(b, x.Raw...)
	}
	return b
}

// PEM returns the chain as PEM "CERTIFICATE" blocks, leaf first.
func (c Chain) PEM() []byte {
	var b []byte
	for _, x := range c {
		b = append(b, CertPEM(x)...)
	}
	return b
}

// CertPEM returns one certificate as a PEM "CERTIFICATE" block.
func CertPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// DeviceCheck is what VerifyDevice expects of a device's chain.
type DeviceCheck struct {
	// Roots are the trusted roots. The chain's last certificate must be
	// one of them, byte for byte.
	Roots []*x509.Certificate
	// Subject, if its Name is not empty, is the subject and URI the
	// device certificate must carry.
	Subject Subject
	// Key, if not nil, is the identity key the device certificate must
	// certify.
	Key *keys.PublicKey
	// Now is the time of verification; zero means time.Now.
	Now time.Time
}

// VerifyDevice checks a device's chain: every certificate signed by the
// next, the last a trusted root, every name inside the name constraints
// of the CAs above it, validity at Now, and a leaf for TLS client
// authentication with the subject and key expected. It returns the
// verified path, leaf first.
func VerifyDevice(chain Chain, want DeviceCheck) (Chain, error) {
	if len(chain) < 2 {
		return nil, usererr.Errorf("", "%w: a device chain has its certificate, the CAs and the root; got %d certificates", ErrChain, len(chain))
	}
	root := chain[len(chain)-1]
	trusted := false
	for _, r := range want.Roots {
		if bytes.Equal(r.Raw, root.Raw) {
			trusted = true
			break
		}
	}
	if !trusted {
		return nil, usererr.Errorf("", "%w: the chain ends at %q, which is not a trusted root", ErrChain, root.Subject.String())
	}
	for i := 0; i+1 < len(chain); i++ {
		if err := chain[i].CheckSignatureFrom(chain[i+1]); err != nil {
			return nil, usererr.Errorf("", "%w: certificate %d (%q) is not signed by the next one: %v", ErrChain, i+1, chain[i].Subject.String(), err)
		}
	}
	checked, err := handleDirConstraints(chain)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(checked[len(checked)-1])
	inter := x509.NewCertPool()
	for _, c := range checked[1 : len(checked)-1] {
		inter.AddCert(c)
	}
	now := want.Now
	if now.IsZero() {
		now = time.Now()
	}
	leaf := chain[0]
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, usererr.Errorf("", "%w: %v", ErrChain, err)
	}
	if leaf.IsCA {
		return nil, usererr.Errorf("", "%w: the device certificate is a CA certificate", ErrChain)
	}
	if len(want.Subject.Name) > 0 {
		subj, err := parseName(leaf.RawSubject)
		if err != nil {
			return nil, usererr.Errorf("", "%w: device certificate subject: %v", ErrChain, err)
		}
		if !subj.Equal(want.Subject.Name) {
			return nil, usererr.Errorf("", "%w: the device certificate is for %q, want %q", ErrWrongDevice, subj, want.Subject.Name)
		}
		if len(leaf.URIs) != 1 || leaf.URIs[0].String() != want.Subject.URI {
			return nil, usererr.Errorf("", "%w: the device certificate's URI is not %q", ErrWrongDevice, want.Subject.URI)
		}
	}
	if want.Key != nil {
		k, err := keys.NewPublicKey(leaf.PublicKey)
		if err != nil || !k.Equal(want.Key) {
			return nil, usererr.Errorf("", "%w: the device certificate certifies another key", ErrKeyMismatch)
		}
	}
	return chain, nil
}
