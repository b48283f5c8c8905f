package pki

import (
	"testing"
)

// FuzzCSRCheck feeds arbitrary requests, as a board could send them, to
// the CSR policy.
func FuzzCSRCheck(f *testing.F) {
	fx := newFixture(f)
	b := newBoard(f, "0123")
	pol := fx.policy(f, b)
	subj, _ := pol.Template.Render(pol.Base, pol.Product, b.id)
	f.Add(b.csr(f, subj.Name, subj.URI))
	f.Add(b.csr(f, subj.Name, ""))
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x00})
	pol.Key = nil
	f.Fuzz(func(t *testing.T, der []byte) {
		csr, err := pol.Check(der)
		if err == nil && (csr.Key == nil || !csr.Subject.Name.Equal(subj.Name)) {
			t.Fatalf("accepted a request with key %v subject %v", csr.Key, csr.Subject.Name)
		}
	})
}

// FuzzParseChain feeds arbitrary chains, as read back from a board, to
// ParseChain and VerifyDevice.
func FuzzParseChain(f *testing.F) {
	fx := newFixture(f)
	prov := fx.provision(f, newBoard(f, "0123"))
	f.Add(prov.Chain.DER())
	f.Add(prov.Chain.PEM())
	f.Add(prov.Chain[0].Raw)
	roots := DeviceCheck{Roots: prov.Chain[2:], Now: testNow}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseChain(data)
		if err != nil {
			return
		}
		VerifyDevice(c, roots)
	})
}

// FuzzParseCRL feeds arbitrary CRLs to ParseCRL.
func FuzzParseCRL(f *testing.F) {
	fx := newFixture(f)
	prov := fx.provision(f, newBoard(f, "0123"))
	fx.a.Revoke(f.Context(), fx.inter.ID, prov.Record.Serial, ReasonKeyCompromise)
	der, err := fx.a.CRL(f.Context(), fx.inter.ID)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(der)
	f.Add(CRLPEM(der))
	f.Fuzz(func(t *testing.T, data []byte) {
		ParseCRL(data, prov.Chain[1])
	})
}

// FuzzNameConstraints feeds arbitrary name constraints extension values
// to their parser.
func FuzzNameConstraints(f *testing.F) {
	ext, err := nameConstraintsExt(Name{{"O", "Acme"}, {"OU", "thermo"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ext.Value)
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, v []byte) {
		dc, err := parseDirConstraints(v)
		if err == nil {
			dc.allows(Name{{"O", "Acme"}, {"CN", "x"}})
		}
	})
}
