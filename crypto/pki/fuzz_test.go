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

// FuzzParseBackup feeds arbitrary plaintexts, as a backup file opened with
// the right passphrase could hold, to the backup's checks.
func FuzzParseBackup(f *testing.F) {
	fx := newFixture(f)
	fx.provision(f, newBoard(f, "0123"))
	sealed, err := fx.a.Backup(f.Context(), "backup passphrase", 1)
	if err != nil {
		f.Fatal(err)
	}
	plain := openAge(f, sealed, "backup passphrase")
	f.Add(plain)
	f.Add([]byte(`{"format":"trustforge-ca-backup/v1","cas":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, keyPEMs, err := parseBackup(data)
		if err == nil && (len(keyPEMs) != len(doc.CAs) || len(doc.CAs) == 0) {
			t.Fatalf("accepted a backup of %d CAs with %d keys", len(doc.CAs), len(keyPEMs))
		}
	})
}
