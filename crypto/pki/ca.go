package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"time"

	"trustforge/crypto/keys"
	"trustforge/internal/usererr"
)

// Default validities.
const (
	DefaultRootValidity         = 30 * 365 * 24 * time.Hour
	DefaultIntermediateValidity = 20 * 365 * 24 * time.Hour
)

// noExpiry is the notAfter of a certificate with no well-defined expiry
// (RFC 5280, 4.1.2.5; IEEE 802.1AR for device identities).
var noExpiry = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// CA is a certificate authority's certificate with the signer of its key.
type CA struct {
	// Cert is the CA's certificate.
	Cert *x509.Certificate
	// Signer signs with the CA's private key.
	Signer crypto.Signer
}

// RootOptions describe a new root CA.
type RootOptions struct {
	// Organization is the subject's O, such as "Acme Devices". Required.
	Organization string
	// CommonName is the subject's CN. Empty means Organization + " Device
	// Root CA".
	CommonName string
	// Validity is how long the root is valid. Zero means
	// DefaultRootValidity.
	Validity time.Duration
	// Now is the start of validity; zero means time.Now.
	Now time.Time
}

// IntermediateOptions describe a product's intermediate CA.
type IntermediateOptions struct {
	// Product names the product, the subject's OU and the subtree its
	// device certificates are confined to. Required.
	Product string
	// CommonName is the subject's CN. Empty means Product + " Device CA".
	CommonName string
	// Validity is how long the intermediate is valid. Zero means
	// DefaultIntermediateValidity.
	Validity time.Duration
	// Now is the start of validity; zero means time.Now.
	Now time.Time
}

// checkCAKey returns k's signer, refusing anything but ECDSA P-256.
func checkCAKey(k *keys.PrivateKey) (crypto.Signer, error) {
	if k == nil || k.Algorithm() != keys.ECDSAP256 {
		return nil, usererr.Errorf("", "%w: CA keys are ECDSA P-256", ErrKeyType)
	}
	return k.Signer()
}

// keyID returns the subject key identifier trustforge gives a key: the
// first 20 bytes of the SHA-256 of its subjectPublicKey bits (RFC 7093,
// method 1).
func keyID(pub crypto.PublicKey) ([]byte, error) {
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, usererr.Errorf("", "%w: want an ECDSA P-256 key", ErrKeyType)
	}
	raw, err := ec.Bytes()
	if err != nil {
		return nil, usererr.Errorf("", "%w: %v", ErrKeyType, err)
	}
	sum := sha256.Sum256(raw)
	return sum[:20], nil
}

func validity(now time.Time, d, def time.Duration) (time.Time, time.Time) {
	if now.IsZero() {
		now = time.Now()
	}
	if d <= 0 {
		d = def
	}
	start := now.UTC().Truncate(time.Second)
	end := start.Add(d)
	if end.After(noExpiry) {
		end = noExpiry
	}
	return start, end
}

// NewRoot makes a self-signed root CA certificate for key (ECDSA P-256),
// drawing its serial number from rand.
func NewRoot(rand io.Reader, key *keys.PrivateKey, o RootOptions) (*CA, error) {
	signer, err := checkCAKey(key)
	if err != nil {
		return nil, err
	}
	if o.CommonName == "" {
		o.CommonName = o.Organization + " Device Root CA"
	}
	subject := Name{{"O", o.Organization}, {"CN", o.CommonName}}
	raw, err := subject.marshal()
	if err != nil {
		return nil, usererr.Errorf("", "root CA subject: %w", err)
	}
	skid, err := keyID(signer.Public())
	if err != nil {
		return nil, err
	}
	serial, err := NewSerial(rand)
	if err != nil {
		return nil, err
	}
	start, end := validity(o.Now, o.Validity, DefaultRootValidity)
	tmpl := &x509.Certificate{
		SerialNumber: serial, RawSubject: raw, NotBefore: start, NotAfter: end,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true, MaxPathLen: 1,
		SubjectKeyId: skid,
	}
	return sign(rand, tmpl, nil, signer.Public(), signer)
}

// NewIntermediate makes a product's intermediate CA certificate for key
// (ECDSA P-256), signed by root. Its subject is the root's organisation,
// OU=product and CN, and its name constraints permit only subjects under
// O=organisation, OU=product.
func NewIntermediate(rand io.Reader, root *CA, key *keys.PrivateKey, o IntermediateOptions) (*CA, error) {
	signer, err := checkCAKey(key)
	if err != nil {
		return nil, err
	}
	if err := CheckProduct(o.Product); err != nil {
		return nil, err
	}
	rootName, err := parseName(root.Cert.RawSubject)
	if err != nil {
		return nil, err
	}
	org := rootName.Get("O")
	if org == "" {
		return nil, usererr.Errorf("", "%w: the root CA's subject has no organisation", ErrInvalid)
	}
	if o.CommonName == "" {
		o.CommonName = o.Product + " Device CA"
	}
	start, end := validity(o.Now, o.Validity, DefaultIntermediateValidity)
	if end.After(root.Cert.NotAfter) {
		end = root.Cert.NotAfter
	}
	return issueProductCA(rand, root, signer, org, o.Product, o.CommonName, "intermediate CA", start, end)
}

// issueProductCA certifies signer, with root, as a CA for one product: its
// subject is O=org, OU=product, CN=cn; its name constraints permit only
// subjects under O=org, OU=product; it may certify devices, not other CAs.
// what names the CA in errors.
func issueProductCA(rand io.Reader, root *CA, signer crypto.Signer, org, product, cn, what string, start, end time.Time) (*CA, error) {
	base := Name{{"O", org}, {"OU", product}}
	subject := append(append(Name{}, base...), Attribute{"CN", cn})
	raw, err := subject.marshal()
	if err != nil {
		return nil, usererr.Errorf("", "%s subject: %w", what, err)
	}
	nc, err := nameConstraintsExt(base)
	if err != nil {
		return nil, err
	}
	skid, err := keyID(signer.Public())
	if err != nil {
		return nil, err
	}
	serial, err := NewSerial(rand)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, RawSubject: raw, NotBefore: start, NotAfter: end,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true, MaxPathLen: 0, MaxPathLenZero: true,
		SubjectKeyId:    skid,
		ExtraExtensions: []pkix.Extension{nc},
	}
	ca, err := sign(rand, tmpl, root.Cert, signer.Public(), root.Signer)
	if err != nil {
		return nil, err
	}
	ca.Signer = signer
	return ca, nil
}

// sign creates a certificate from tmpl, self-signed when parent is nil,
// parses it back and checks its signature.
func sign(rand io.Reader, tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) (*CA, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	self := parent == nil
	if self {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand, tmpl, parent, pub, signer)
	if err != nil {
		return nil, usererr.Errorf("pki", "signing a certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, usererr.Errorf("pki", "the new certificate does not parse: %w", err)
	}
	markHandled(cert)
	issuer := parent
	if self {
		issuer = cert
	}
	if err := cert.CheckSignatureFrom(issuer); err != nil {
		return nil, usererr.Errorf("", "%w: the new certificate: %v", ErrBadSignature, err)
	}
	return &CA{Cert: cert, Signer: signer}, nil
}

// ParseCA reads a CA certificate (DER) trustforge made, without its key.
func ParseCA(der []byte) (*x509.Certificate, error) {
	c, err := parseCert(der)
	if err != nil {
		return nil, err
	}
	if !c.IsCA || !c.BasicConstraintsValid {
		return nil, usererr.Errorf("", "%w: %q is not a CA certificate", ErrInvalid, c.Subject.String())
	}
	return c, nil
}

// MaxCertSize bounds one DER certificate read from outside.
const MaxCertSize = 8 << 10

// parseCert parses one DER certificate of bounded size.
func parseCert(der []byte) (*x509.Certificate, error) {
	if len(der) == 0 || len(der) > MaxCertSize {
		return nil, usererr.Errorf("", "%w: certificate of %d bytes", ErrMalformed, len(der))
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, usererr.Errorf("", "%w: certificate: %v", ErrMalformed, err)
	}
	return c, nil
}

// NewSerial returns a fresh serial number: 126 random bits from rand
// (crypto/rand when nil), positive and always 16 bytes long in DER
// (RFC 5280 allows up to 20).
func NewSerial(rand io.Reader) (*big.Int, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	var b [16]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return nil, usererr.Errorf("pki", "serial number: %w", err)
	}
	b[0] = b[0]&0x3f | 0x40
	return new(big.Int).SetBytes(b[:]), nil
}

func defaultRand() io.Reader { return cryptorand.Reader }

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }
