package station

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"io"
	"time"

	"trustforge/crypto/keys"
	"trustforge/crypto/pki"
	"trustforge/crypto/production"
	"trustforge/devices/provision"
	"trustforge/internal/usererr"
)

// batchAuthority certifies one board with the package's batch CA, putting
// the board's production ticket into its certificate. It is the
// provision.Authority of one board's run.
type batchAuthority struct {
	ca     *pki.CA
	root   *x509.Certificate
	base   pki.Name
	ticket *production.SignedTicket
	rand   io.Reader
	now    time.Time
}

var _ provision.Authority = (*batchAuthority)(nil)

func (a *batchAuthority) Policy(_ context.Context, p pki.Profile, deviceID string, key *keys.PublicKey) (pki.CSRPolicy, error) {
	return pki.CSRPolicy{Template: p.Template, Base: a.base, Product: p.Product, DeviceID: deviceID, Key: key}, nil
}

func (a *batchAuthority) Issue(_ context.Context, p pki.Profile, deviceID string, csr *pki.CSR) (*pki.Provisioned, error) {
	id, err := pki.ParseDeviceID(deviceID)
	if err != nil {
		return nil, err
	}
	ext, err := a.ticket.Extension()
	if err != nil {
		return nil, err
	}
	serial, err := pki.NewSerial(a.rand)
	if err != nil {
		return nil, err
	}
	cert, err := pki.Issue(a.rand, a.ca, pki.DeviceCert{Subject: csr.Subject, Key: csr.Key, Template: p.Template,
		Serial: serial, Now: a.now, Extensions: []pkix.Extension{ext}})
	if err != nil {
		return nil, err
	}
	rec := pki.IssuedInfo{Serial: hex.EncodeToString(serial.Bytes()), Issuer: hex.EncodeToString(a.ca.Cert.SubjectKeyId),
		DeviceID: id, Product: p.Product, Cert: cert.Raw, Issued: a.now}
	return &pki.Provisioned{Chain: pki.Chain{cert, a.ca.Cert, a.root}, Record: rec}, nil
}

func (a *batchAuthority) Verify(_ context.Context, chain pki.Chain, p pki.Profile, deviceID string, key *keys.PublicKey) error {
	subj, err := p.Template.Render(a.base, p.Product, deviceID)
	if err != nil {
		return err
	}
	if _, err := pki.VerifyDevice(chain, pki.DeviceCheck{Roots: []*x509.Certificate{a.root}, Subject: subj, Key: key, Now: a.now}); err != nil {
		return err
	}
	t, ok, err := production.TicketOf(chain[0])
	if !ok || err != nil || string(t.Bytes()) != string(a.ticket.Bytes()) {
		return usererr.Errorf("station", "the certificate read back does not carry the board's ticket")
	}
	return nil
}
