package pki

import (
	"bytes"
	"context"
	"crypto/x509"
	"math/big"
	"time"

	"trustforge/crypto/keys"
	"trustforge/internal/usererr"
)

// Issuer is a profile's issuing CA made ready to certify many boards in a
// row, as a production line does: the CA records are read and the
// intermediate's key is unsealed once. It holds that private key in
// memory: drop it when the vault locks. It is safe for concurrent use.
type Issuer struct {
	a       *Authority
	profile Profile
	base    Name
	ca      *CA
	root    *x509.Certificate
}

// Prepare readies profile p's issuer. The vault must be unlocked.
func (a *Authority) Prepare(ctx context.Context, p Profile) (*Issuer, error) {
	info, err := a.CA(ctx, p.Issuer)
	if err != nil {
		return nil, err
	}
	base, err := info.Subtree()
	if err != nil {
		return nil, err
	}
	rootInfo, err := a.CA(ctx, info.Parent)
	if err != nil {
		return nil, err
	}
	root, err := rootInfo.Certificate()
	if err != nil {
		return nil, err
	}
	ca, err := a.signer(ctx, info)
	if err != nil {
		return nil, err
	}
	if err := ca.Cert.CheckSignatureFrom(root); err != nil {
		return nil, usererr.Errorf("", "%w: the intermediate is not signed by the root: %v", ErrChain, err)
	}
	return &Issuer{a: a, profile: p, base: base, ca: ca, root: root}, nil
}

// Root returns the root CA certificate the issuer's certificates chain to.
func (is *Issuer) Root() *x509.Certificate { return is.root }

// Profile returns the profile the issuer was prepared for.
func (is *Issuer) Profile() Profile { return is.profile }

// same refuses a profile other than the one the issuer was prepared for.
func (is *Issuer) same(p Profile) error {
	if p.Product != is.profile.Product || p.Issuer != is.profile.Issuer || p.Template != is.profile.Template {
		return usererr.Errorf("", "%w: the issuer was prepared for another profile (%s); prepare it again", ErrInvalid, is.profile.Product)
	}
	return nil
}

// Policy returns the CSR policy for board deviceID that reported key (nil:
// any key). p must be the profile the issuer was prepared for.
func (is *Issuer) Policy(ctx context.Context, p Profile, deviceID string, key *keys.PublicKey) (CSRPolicy, error) {
	if err := is.same(p); err != nil {
		return CSRPolicy{}, err
	}
	return CSRPolicy{Template: is.profile.Template, Base: is.base, Product: is.profile.Product, DeviceID: deviceID, Key: key}, nil
}

// Issue certifies a checked request as Authority.Issue does: a serial the
// ledger has not seen, recorded in the ledger before it is returned. p must
// be the profile the issuer was prepared for.
func (is *Issuer) Issue(ctx context.Context, p Profile, deviceID string, csr *CSR) (*Provisioned, error) {
	if err := is.same(p); err != nil {
		return nil, err
	}
	id, err := ParseDeviceID(deviceID)
	if err != nil {
		return nil, err
	}
	a := is.a
	a.mu.Lock()
	defer a.mu.Unlock()
	caID := is.profile.Issuer
	var serial *big.Int
	for range maxSerialTries {
		s, err := NewSerial(a.opts.rand())
		if err != nil {
			return nil, err
		}
		_, used, err := a.st.Get(ctx, issuedKey(caID, s))
		if err != nil {
			return nil, usererr.Errorf("pki", "reading the ledger: %w", err)
		}
		if !used {
			serial = s
			break
		}
	}
	if serial == nil {
		return nil, usererr.Errorf("pki", "no unused serial number in %d draws: the random source is broken", maxSerialTries)
	}
	now := a.opts.now()
	cert, err := Issue(a.opts.rand(), is.ca, DeviceCert{Subject: csr.Subject, Key: csr.Key, Template: is.profile.Template, Serial: serial, Now: now})
	if err != nil {
		return nil, err
	}
	rec := IssuedInfo{Serial: serialHex(serial), Issuer: caID, DeviceID: id, Product: is.profile.Product, Cert: cert.Raw, Issued: now}
	if err := a.putJSON(ctx, issuedKey(caID, serial), rec); err != nil {
		return nil, err
	}
	return &Provisioned{Chain: Chain{cert, is.ca.Cert, is.root}, Record: rec}, nil
}

// Verify checks a chain read back from board deviceID: its intermediate
// and root must be this issuer's, byte for byte (so they need no checking
// again), and its first certificate is verified as VerifyDevice verifies
// it: signed by the intermediate, inside its name constraints, valid now,
// for TLS client authentication, with the subject and key expected. p must
// be the profile the issuer was prepared for.
func (is *Issuer) Verify(ctx context.Context, chain Chain, p Profile, deviceID string, key *keys.PublicKey) error {
	if err := is.same(p); err != nil {
		return err
	}
	if len(chain) != 3 || !bytes.Equal(chain[1].Raw, is.ca.Cert.Raw) || !bytes.Equal(chain[2].Raw, is.root.Raw) {
		return usererr.Errorf("", "%w: the chain is not a device certificate, %q and %q", ErrChain, is.ca.Cert.Subject.String(), is.root.Subject.String())
	}
	want, err := is.profile.Template.Render(is.base, is.profile.Product, deviceID)
	if err != nil {
		return err
	}
	leaf := chain[0]
	if err := leaf.CheckSignatureFrom(is.ca.Cert); err != nil {
		return usererr.Errorf("", "%w: the device certificate is not signed by %q: %v", ErrChain, is.ca.Cert.Subject.String(), err)
	}
	if _, err := handleDirConstraints(Chain{leaf, is.ca.Cert}); err != nil {
		return err
	}
	now := is.a.opts.now()
	switch {
	case leaf.IsCA || !leaf.BasicConstraintsValid:
		return usererr.Errorf("", "%w: the device certificate is a CA certificate", ErrChain)
	case now.Before(leaf.NotBefore) || now.After(leaf.NotAfter):
		return usererr.Errorf("", "%w: the device certificate is not valid at %s", ErrChain, now.Format(time.RFC3339))
	case len(leaf.UnhandledCriticalExtensions) > 0:
		return usererr.Errorf("", "%w: the device certificate has unhandled critical extensions", ErrChain)
	case leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 || !hasEKU(leaf, x509.ExtKeyUsageClientAuth):
		return usererr.Errorf("", "%w: the device certificate is not for TLS client authentication", ErrChain)
	}
	subj, err := parseName(leaf.RawSubject)
	if err != nil {
		return usererr.Errorf("", "%w: device certificate subject: %v", ErrChain, err)
	}
	if !subj.Equal(want.Name) || len(leaf.URIs) != 1 || leaf.URIs[0].String() != want.URI {
		return usererr.Errorf("", "%w: the device certificate is for %q, want %q", ErrWrongDevice, subj, want.Name)
	}
	if key != nil {
		k, err := keys.NewPublicKey(leaf.PublicKey)
		if err != nil || !k.Equal(key) {
			return usererr.Errorf("", "%w: the device certificate certifies another key", ErrKeyMismatch)
		}
	}
	return nil
}

func hasEKU(c *x509.Certificate, eku x509.ExtKeyUsage) bool {
	for _, e := range c.ExtKeyUsage {
		if e == eku {
			return true
		}
	}
	return false
}
