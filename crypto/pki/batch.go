package pki

import (
	"context"
	"crypto/x509"
	"io"
	"time"

	"trustforge/crypto/keys"
	"trustforge/internal/usererr"
)

// MaxBatchValidity bounds a production batch CA's validity: a batch is an
// order, not a product line.
const MaxBatchValidity = 366 * 24 * time.Hour

// MaxBatchLen bounds a batch name.
const MaxBatchLen = 32

// CheckBatch checks a batch name: 1 to MaxBatchLen ASCII letters, digits,
// '.', '_' or '-', starting with a letter or digit.
func CheckBatch(s string) error {
	if len(s) > MaxBatchLen || CheckProduct(s) != nil {
		return usererr.Errorf("", "%w: batch %q is not a valid name (1-%d letters, digits, '.', '_', '-')", ErrInvalid, s, MaxBatchLen)
	}
	return nil
}

// BatchOptions describe a production batch CA: the CA a programming
// station certifies one order's devices with.
type BatchOptions struct {
	// Product names the product. The batch CA is confined to the same
	// subtree as the product's intermediate (O=organisation, OU=product).
	// Required.
	Product string
	// Batch names the order, e.g. "2026-03-line2": 1 to MaxBatchLen
	// letters, digits, '.', '_' or '-'. It is part of the CA's common
	// name. Required.
	Batch string
	// NotBefore is the start of validity; zero means time.Now.
	NotBefore time.Time
	// NotAfter is the end of validity: the order's expiry. Required, at
	// most MaxBatchValidity after NotBefore, and never after the root's.
	NotAfter time.Time
}

// NewBatch makes a production batch CA certificate for key (ECDSA P-256),
// signed by root: subject O=organisation, OU=product, CN "PRODUCT batch
// BATCH CA", path length 0, critical name constraints permitting only
// O=organisation, OU=product, and a validity of the batch alone. Devices it
// certifies chain to the same root as the product's other devices.
func NewBatch(rand io.Reader, root *CA, key *keys.PrivateKey, o BatchOptions) (*CA, error) {
	signer, err := checkCAKey(key)
	if err != nil {
		return nil, err
	}
	if root == nil || root.Cert == nil || root.Signer == nil || !root.Cert.IsCA {
		return nil, usererr.Errorf("", "%w: no root CA to sign the batch CA", ErrInvalid)
	}
	if err := CheckProduct(o.Product); err != nil {
		return nil, err
	}
	if err := CheckBatch(o.Batch); err != nil {
		return nil, err
	}
	start := o.NotBefore
	if start.IsZero() {
		start = time.Now()
	}
	start = start.UTC().Truncate(time.Second)
	end := o.NotAfter.UTC().Truncate(time.Second)
	switch {
	case !end.After(start):
		return nil, usererr.Errorf("", "%w: the batch must end after it starts", ErrInvalid)
	case end.Sub(start) > MaxBatchValidity:
		return nil, usererr.Errorf("", "%w: a batch valid for %v (at most %v)", ErrInvalid, end.Sub(start).Round(time.Hour), MaxBatchValidity)
	case end.After(root.Cert.NotAfter):
		return nil, usererr.Errorf("", "%w: the batch would outlive the root CA (%s)", ErrInvalid, root.Cert.NotAfter.Format(time.RFC3339))
	}
	rootName, err := parseName(root.Cert.RawSubject)
	if err != nil {
		return nil, err
	}
	org := rootName.Get("O")
	if org == "" {
		return nil, usererr.Errorf("", "%w: the root CA's subject has no organisation", ErrInvalid)
	}
	return issueProductCA(rand, root, signer, org, o.Product, "batch "+o.Batch+" CA", "batch CA", start, end)
}

// Batch is a production batch CA made by Authority.NewBatch: its
// certificate, its private key (which exists nowhere else: seal it to the
// station that will use it) and the root it chains to.
type Batch struct {
	// CA is the batch CA's certificate and signer.
	CA *CA
	// Key is the batch CA's private key.
	Key *keys.PrivateKey
	// Root is the hierarchy's root certificate.
	Root *x509.Certificate
}

// Chain returns the batch CA's certificate and the root: what a device it
// certifies carries after its own certificate.
func (b *Batch) Chain() Chain { return Chain{b.CA.Cert, b.Root} }

// NewBatch generates a batch CA key (outside the vault: it is meant to be
// sealed to a station) and certifies it with the hierarchy's root for
// product, which must have an intermediate. The vault must be unlocked.
func (a *Authority) NewBatch(ctx context.Context, o BatchOptions) (*Batch, error) {
	if _, err := a.Intermediate(ctx, o.Product); err != nil {
		return nil, err
	}
	rootInfo, err := a.Root(ctx)
	if err != nil {
		return nil, err
	}
	root, err := a.signer(ctx, rootInfo)
	if err != nil {
		return nil, err
	}
	if o.NotBefore.IsZero() {
		o.NotBefore = a.opts.now()
	}
	key, err := keys.Generate(a.opts.rand(), keys.ECDSAP256)
	if err != nil {
		return nil, usererr.Errorf("pki", "generating the batch CA key: %w", err)
	}
	ca, err := NewBatch(a.opts.rand(), root, key, o)
	if err != nil {
		return nil, err
	}
	return &Batch{CA: ca, Key: key, Root: root.Cert}, nil
}

// BatchSigner pairs a batch CA certificate with its private key, as a
// station holds them after opening its production package, checking that
// they match and that the certificate is a CA.
func BatchSigner(cert *x509.Certificate, key *keys.PrivateKey) (*CA, error) {
	s, err := checkCAKey(key)
	if err != nil {
		return nil, err
	}
	if cert == nil || !cert.IsCA {
		return nil, usererr.Errorf("", "%w: the batch certificate is not a CA certificate", ErrInvalid)
	}
	pub, err := keys.NewPublicKey(cert.PublicKey)
	if err != nil || !pub.Equal(key.Public()) {
		return nil, usererr.Errorf("", "%w: the batch CA key does not match its certificate", ErrInvalid)
	}
	markHandled(cert)
	return &CA{Cert: cert, Signer: s}, nil
}
