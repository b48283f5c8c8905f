package pki

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"math/big"
	"sort"
	"strings"
	"time"

	"trustforge/crypto/keys"
	"trustforge/internal/usererr"
)

// IssuedInfo is the ledger's record of one certificate issued.
type IssuedInfo struct {
	// Serial is the certificate's serial number, hex.
	Serial string `json:"serial"`
	// Issuer is the issuing CA's ID.
	Issuer string `json:"issuer"`
	// DeviceID is the board's unique id.
	DeviceID string `json:"device_id"`
	// Product is the board's product.
	Product string `json:"product"`
	// Cert is the certificate, DER.
	Cert []byte `json:"cert"`
	// Issued is when it was issued.
	Issued time.Time `json:"issued"`
	// Revoked is when it was revoked; zero while it is valid.
	Revoked time.Time `json:"revoked,omitzero"`
	// Reason is the RFC 5280 revocation reason code.
	Reason int `json:"reason,omitempty"`
}

// Provisioned is a device certificate with the chain a board installs.
type Provisioned struct {
	// Chain is the device certificate, its intermediate and the root.
	Chain Chain
	// Record is the ledger's record of the certificate.
	Record IssuedInfo
}

// Policy returns the CSR policy of profile p for the board deviceID that
// reported key (nil: any key).
func (a *Authority) Policy(ctx context.Context, p Profile, deviceID string, key *keys.PublicKey) (CSRPolicy, error) {
	c, err := a.CA(ctx, p.Issuer)
	if err != nil {
		return CSRPolicy{}, err
	}
	base, err := c.Subtree()
	if err != nil {
		return CSRPolicy{}, err
	}
	return CSRPolicy{Template: p.Template, Base: base, Product: p.Product, DeviceID: deviceID, Key: key}, nil
}

// maxSerialTries bounds the draws of a serial number that the ledger
// already holds (each a 2^-126 event).
const maxSerialTries = 8

// Issue certifies a checked request under profile p: a fresh serial
// number not in the ledger, the profile's issuer and template. The
// certificate is recorded in the ledger before it is returned. To certify
// many boards in a row, Prepare an Issuer once.
func (a *Authority) Issue(ctx context.Context, p Profile, deviceID string, csr *CSR) (*Provisioned, error) {
	is, err := a.Prepare(ctx, p)
	if err != nil {
		return nil, err
	}
	return is.Issue(ctx, p, deviceID, csr)
}

func serialHex(s *big.Int) string { return hex.EncodeToString(s.Bytes()) }

func issuedKey(ca string, serial *big.Int) string {
	return issuedPrefix + ca + "/" + serialHex(serial)
}

// Issued lists the certificates issuer (a CA ID) issued, oldest first.
func (a *Authority) Issued(ctx context.Context, issuer string) ([]IssuedInfo, error) {
	names, err := a.st.List(ctx, issuedPrefix+issuer+"/")
	if err != nil {
		return nil, usererr.Errorf("pki", "reading the ledger: %w", err)
	}
	out := make([]IssuedInfo, 0, len(names))
	for _, n := range names {
		var r IssuedInfo
		if _, err := a.getJSON(ctx, n, &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Issued.Before(out[j].Issued) })
	return out, nil
}

// Find returns the ledger records of a device, newest first.
func (a *Authority) Find(ctx context.Context, deviceID string) ([]IssuedInfo, error) {
	id, err := ParseDeviceID(deviceID)
	if err != nil {
		return nil, err
	}
	cas, err := a.CAs(ctx)
	if err != nil {
		return nil, err
	}
	var out []IssuedInfo
	for _, c := range cas {
		all, err := a.Issued(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		for _, r := range all {
			if r.DeviceID == id {
				out = append(out, r)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Issued.After(out[j].Issued) })
	return out, nil
}

// Revoke marks a certificate of issuer revoked for reason. Revoking it
// again changes nothing. Publish the change with CRL.
func (a *Authority) Revoke(ctx context.Context, issuer, serial string, reason int) (IssuedInfo, error) {
	if _, err := ParseReason(ReasonName(reason)); err != nil {
		return IssuedInfo{}, err
	}
	n, ok := new(big.Int).SetString(strings.TrimPrefix(serial, "0x"), 16)
	if !ok || n.Sign() <= 0 {
		return IssuedInfo{}, usererr.Errorf("", "%w: serial %q is not hex", ErrInvalid, serial)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var r IssuedInfo
	found, err := a.getJSON(ctx, issuedKey(issuer, n), &r)
	if err != nil {
		return IssuedInfo{}, err
	}
	if !found {
		return IssuedInfo{}, usererr.Errorf("", "%w: no certificate %s from CA %s", ErrNotFound, serial, issuer)
	}
	if !r.Revoked.IsZero() {
		return r, nil
	}
	r.Revoked, r.Reason = a.opts.now(), reason
	return r, a.putJSON(ctx, issuedKey(issuer, n), r)
}

type crlRecord struct {
	Number int64     `json:"number"`
	Issued time.Time `json:"issued"`
	DER    []byte    `json:"der"`
}

// CRL signs and records a new revocation list of issuer's revoked
// certificates, numbered one above the last.
func (a *Authority) CRL(ctx context.Context, issuer string) ([]byte, error) {
	info, err := a.CA(ctx, issuer)
	if err != nil {
		return nil, err
	}
	ca, err := a.signer(ctx, info)
	if err != nil {
		return nil, err
	}
	all, err := a.Issued(ctx, issuer)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var last crlRecord
	if _, err := a.getJSON(ctx, crlPrefix+issuer, &last); err != nil {
		return nil, err
	}
	var revoked []Revoked
	for _, r := range all {
		if r.Revoked.IsZero() {
			continue
		}
		s, _ := new(big.Int).SetString(r.Serial, 16)
		revoked = append(revoked, Revoked{Serial: s, At: r.Revoked, Reason: r.Reason})
	}
	now := a.opts.now()
	der, err := NewCRL(a.opts.rand(), ca, revoked, CRLOptions{Number: big.NewInt(last.Number + 1), Now: now})
	if err != nil {
		return nil, err
	}
	return der, a.putJSON(ctx, crlPrefix+issuer, crlRecord{Number: last.Number + 1, Issued: now, DER: der})
}

// Verify checks a chain read back from a board against this hierarchy's
// root and the subject and key profile p gives device deviceID.
func (a *Authority) Verify(ctx context.Context, chain Chain, p Profile, deviceID string, key *keys.PublicKey) error {
	root, err := a.Root(ctx)
	if err != nil {
		return err
	}
	rc, err := root.Certificate()
	if err != nil {
		return err
	}
	pol, err := a.Policy(ctx, p, deviceID, key)
	if err != nil {
		return err
	}
	subj, err := pol.Template.Render(pol.Base, pol.Product, pol.DeviceID)
	if err != nil {
		return err
	}
	_, err = VerifyDevice(chain, DeviceCheck{Roots: []*x509.Certificate{rc}, Subject: subj, Key: key, Now: a.opts.now()})
	return err
}
