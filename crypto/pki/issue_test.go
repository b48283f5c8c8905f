package pki

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestProvisionChainVerifies(t *testing.T) {
	f := newFixture(t)
	b := newBoard(t, "0011223344556677889900aa")
	prov := f.provision(t, b)
	if len(prov.Chain) != 3 {
		t.Fatalf("chain of %d certificates, want 3", len(prov.Chain))
	}
	leaf := prov.Chain[0]
	if got, want := leaf.Subject.String(), "CN=thermo-0011223344556677889900aa,OU=thermo,O=Acme Devices"; got != want {
		t.Errorf("subject = %q, want %q", got, want)
	}
	if len(leaf.URIs) != 1 || leaf.URIs[0].String() != "urn:dev:ops:32473-thermo-0011223344556677889900aa" {
		t.Errorf("URIs = %v", leaf.URIs)
	}
	if !leaf.NotAfter.Equal(noExpiry) {
		t.Errorf("notAfter = %v, want no expiry", leaf.NotAfter)
	}
	if leaf.KeyUsage != x509.KeyUsageDigitalSignature || len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("key usage %v, extended %v", leaf.KeyUsage, leaf.ExtKeyUsage)
	}
	if len(leaf.SerialNumber.Bytes()) != 16 {
		t.Errorf("serial %x is not 16 bytes", leaf.SerialNumber)
	}
	if err := f.a.Verify(context.Background(), prov.Chain, f.profile, b.id, b.pub(t)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	// Parsed afresh, as read back from a board.
	back, err := ParseChain(prov.Chain.DER())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.a.Verify(context.Background(), back, f.profile, b.id, b.pub(t)); err != nil {
		t.Fatalf("Verify of the chain read back: %v", err)
	}
	other := newBoard(t, "00112233445566778899ffff")
	if err := f.a.Verify(context.Background(), back, f.profile, other.id, nil); !errors.Is(err, ErrWrongDevice) {
		t.Errorf("Verify for another device: %v, want ErrWrongDevice", err)
	}
	if err := f.a.Verify(context.Background(), back, f.profile, b.id, other.pub(t)); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("Verify with another key: %v, want ErrKeyMismatch", err)
	}
}

// openssl runs openssl in dir, or skips the test when it is missing.
func openssl(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed (apt-get install -y openssl)")
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func writePEMs(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenSSLVerifiesChain(t *testing.T) {
	f := newFixture(t)
	b := newBoard(t, "a1b2c3d4")
	prov := f.provision(t, b)
	dir := t.TempDir()
	writePEMs(t, dir, map[string][]byte{
		"root.pem": CertPEM(prov.Chain[2]), "intermediate.pem": CertPEM(prov.Chain[1]), "device.pem": CertPEM(prov.Chain[0]),
	})
	out, err := openssl(t, dir, "verify", "-attime", "1772366400", "-CAfile", "root.pem", "-untrusted", "intermediate.pem", "device.pem")
	if err != nil || !strings.Contains(out, "device.pem: OK") {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
	// The purpose trustforge issues for.
	out, err = openssl(t, dir, "verify", "-attime", "1772366400", "-purpose", "sslclient", "-CAfile", "root.pem", "-untrusted", "intermediate.pem", "device.pem")
	if err != nil {
		t.Fatalf("openssl verify -purpose sslclient: %v\n%s", err, out)
	}
}

// TestNameConstraints issues, with the intermediate's key but outside
// trustforge's checks, a certificate for another product's subtree: both
// VerifyDevice and OpenSSL refuse it.
func TestNameConstraints(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	issuer, err := f.a.signer(ctx, f.inter)
	if err != nil {
		t.Fatal(err)
	}
	b := newBoard(t, "beef")
	serial, _ := NewSerial(rand.Reader)
	outside := Subject{Name: Name{{"O", "Acme Devices"}, {"OU", "doorbell"}, {"CN", "doorbell-beef"}}, URI: "urn:dev:ops:32473-doorbell-beef"}
	cert, err := Issue(rand.Reader, issuer, DeviceCert{Subject: outside, Key: b.pub(t), Serial: serial, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	root, _ := f.root.Certificate()
	chain := Chain{cert, issuer.Cert, root}
	reparsed, err := ParseChain(chain.DER())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyDevice(reparsed, DeviceCheck{Roots: []*x509.Certificate{root}, Now: testNow}); !errors.Is(err, ErrChain) || !strings.Contains(err.Error(), "name constraints") {
		t.Errorf("VerifyDevice of a certificate outside the subtree: %v, want a name constraints error", err)
	}
	dir := t.TempDir()
	writePEMs(t, dir, map[string][]byte{"root.pem": CertPEM(root), "intermediate.pem": CertPEM(issuer.Cert), "device.pem": CertPEM(cert)})
	out, err := openssl(t, dir, "verify", "-attime", "1772366400", "-CAfile", "root.pem", "-untrusted", "intermediate.pem", "device.pem")
	if err == nil || !strings.Contains(out, "permitted subtree violation") {
		t.Errorf("openssl verify of a certificate outside the subtree: %v\n%s", err, out)
	}
}

func TestCSRRefusals(t *testing.T) {
	f := newFixture(t)
	b := newBoard(t, "0a0b0c0d")
	pol := f.policy(t, b)
	good, err := pol.Template.Render(pol.Base, pol.Product, b.id)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := pol.Template.Render(pol.Base, pol.Product, "ffee")
	badSig := b.csr(t, good.Name, good.URI)
	badSig[len(badSig)-3] ^= 0x40
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	raw, _ := good.Name.marshal()
	withDNS := func(k any) []byte {
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{RawSubject: raw, DNSNames: []string{"evil.example"}}, k)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	plain := func(k any) []byte {
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{RawSubject: raw}, k)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	withURI := func(uri string) []byte {
		u, _ := url.Parse(uri)
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{RawSubject: raw, URIs: []*url.URL{u}}, b.key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	otherBoard := newBoard(t, b.id)
	tests := []struct {
		name string
		der  []byte
		want error
	}{
		{"another device id", b.csr(t, other.Name, other.URI), ErrWrongDevice},
		{"another device id in the URI only", withURI(other.URI), ErrWrongDevice},
		{"signature does not verify", badSig, ErrBadSignature},
		{"P-384 key", plain(p384), ErrKeyType},
		{"Ed25519 key", plain(edKey), ErrKeyType},
		{"another organisation", b.csr(t, Name{{"O", "Evil"}, {"OU", "thermo"}, {"CN", "thermo-0a0b0c0d"}}, ""), ErrSubject},
		{"extra attribute", b.csr(t, append(append(Name{}, good.Name...), Attribute{"serialNumber", "1"}), ""), ErrSubject},
		{"DNS name", withDNS(b.key), ErrSubject},
		{"another URI", withURI("urn:dev:mac:0024befffe804ff1"), ErrSubject},
		{"another key than the board reported", otherBoard.csr(t, good.Name, good.URI), ErrKeyMismatch},
		{"empty", nil, ErrMalformed},
		{"garbage", []byte("not a request"), ErrMalformed},
		{"too large", make([]byte, MaxCSRSize+1), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pol.Check(tt.der)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Check: %v, want %v", err, tt.want)
			}
			if got != nil {
				t.Errorf("Check returned a request along with the error")
			}
		})
	}
	t.Run("good, with and without URI", func(t *testing.T) {
		for _, der := range [][]byte{b.csr(t, good.Name, good.URI), b.csr(t, good.Name, "")} {
			csr, err := pol.Check(der)
			if err != nil {
				t.Fatal(err)
			}
			if !csr.Key.Equal(b.pub(t)) || csr.Subject.URI != good.URI {
				t.Errorf("checked request: key %v uri %q", csr.Key, csr.Subject.URI)
			}
		}
	})
	t.Run("every truncation", func(t *testing.T) {
		der := b.csr(t, good.Name, good.URI)
		for n := range len(der) {
			if _, err := pol.Check(der[:n]); err == nil {
				t.Fatalf("a request cut to %d of %d bytes passed", n, len(der))
			}
		}
	})
	t.Run("the message names the devices", func(t *testing.T) {
		_, err := pol.Check(b.csr(t, other.Name, other.URI))
		if err == nil || !strings.Contains(err.Error(), "ffee") || !strings.Contains(err.Error(), "0a0b0c0d") {
			t.Errorf("error %q should name both device ids", err)
		}
	})
}

func TestSerialsNeverRepeat(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// A random source stuck on one value: the first issuance takes the
	// serial, the second finds it in the ledger and gives up.
	stuck := bytes.Repeat([]byte{7}, 1<<16)
	f.a.opts.Rand = bytes.NewReader(stuck)
	b := newBoard(t, "01")
	first := f.provision(t, b)
	f.a.opts.Rand = bytes.NewReader(stuck)
	pol := f.policy(t, b)
	subj, _ := pol.Template.Render(pol.Base, pol.Product, b.id)
	csr, err := pol.Check(b.csr(t, subj.Name, subj.URI))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.Issue(ctx, f.profile, b.id, csr); err == nil || !strings.Contains(err.Error(), "serial") {
		t.Fatalf("issuing with a repeated serial: %v, want an error", err)
	}
	f.a.opts.Rand = nil
	seen := map[string]bool{first.Record.Serial: true}
	for i := range 20 {
		p := f.provision(t, newBoard(t, "02"))
		if seen[p.Record.Serial] {
			t.Fatalf("serial %s repeated at %d", p.Record.Serial, i)
		}
		seen[p.Record.Serial] = true
	}
	issued, err := f.a.Issued(ctx, f.inter.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(issued) != 21 {
		t.Errorf("ledger holds %d certificates, want 21", len(issued))
	}
}

func TestRevokeAndCRL(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	good := f.provision(t, newBoard(t, "0100"))
	bad := f.provision(t, newBoard(t, "0200"))
	if _, err := f.a.Revoke(ctx, f.inter.ID, bad.Record.Serial, ReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.Revoke(ctx, f.inter.ID, "abcdef", ReasonKeyCompromise); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoking an unknown serial: %v", err)
	}
	var last []byte
	for n := int64(1); n <= 2; n++ {
		der, err := f.a.CRL(ctx, f.inter.ID)
		if err != nil {
			t.Fatal(err)
		}
		l, err := ParseCRL(CRLPEM(der), good.Chain[1])
		if err != nil {
			t.Fatal(err)
		}
		if l.Number.Int64() != n {
			t.Errorf("CRL number %v, want %d", l.Number, n)
		}
		if len(l.RevokedCertificateEntries) != 1 || l.RevokedCertificateEntries[0].SerialNumber.Cmp(bad.Chain[0].SerialNumber) != 0 ||
			l.RevokedCertificateEntries[0].ReasonCode != ReasonKeyCompromise {
			t.Errorf("CRL entries %+v", l.RevokedCertificateEntries)
		}
		last = der
	}
	if _, err := ParseCRL(last, good.Chain[2]); !errors.Is(err, ErrBadSignature) {
		t.Errorf("CRL checked against the root: %v, want ErrBadSignature", err)
	}
	dir := t.TempDir()
	writePEMs(t, dir, map[string][]byte{"root.pem": CertPEM(good.Chain[2]), "intermediate.pem": CertPEM(good.Chain[1]),
		"good.pem": CertPEM(good.Chain[0]), "bad.pem": CertPEM(bad.Chain[0]), "crl.pem": CRLPEM(last)})
	out, err := openssl(t, dir, "verify", "-attime", "1772366400", "-crl_check", "-CRLfile", "crl.pem", "-CAfile", "root.pem", "-untrusted", "intermediate.pem", "good.pem")
	if err != nil {
		t.Errorf("openssl verify -crl_check of a good device: %v\n%s", err, out)
	}
	out, err = openssl(t, dir, "verify", "-attime", "1772366400", "-crl_check", "-CRLfile", "crl.pem", "-CAfile", "root.pem", "-untrusted", "intermediate.pem", "bad.pem")
	if err == nil || !strings.Contains(out, "revoked") {
		t.Errorf("openssl verify -crl_check of a revoked device: %v\n%s", err, out)
	}
}

func TestHierarchyRules(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.a.InitRoot(ctx, RootOptions{Organization: "Second"}); !errors.Is(err, ErrExists) {
		t.Errorf("second root: %v, want ErrExists", err)
	}
	if _, err := f.a.AddIntermediate(ctx, IntermediateOptions{Product: "thermo"}); !errors.Is(err, ErrExists) {
		t.Errorf("second intermediate for a product: %v, want ErrExists", err)
	}
	if _, err := f.a.AddIntermediate(ctx, IntermediateOptions{Product: "bad/name"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("intermediate for a bad product name: %v, want ErrInvalid", err)
	}
	if _, err := f.a.SaveProfile(ctx, Profile{Product: "thermo", Issuer: f.root.ID}); !errors.Is(err, ErrInvalid) {
		t.Errorf("profile issued by the root: %v, want ErrInvalid", err)
	}
	if _, err := f.a.SaveProfile(ctx, Profile{Product: "thermo", Template: Template{CommonName: "thermo"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("template without {id}: %v, want ErrInvalid", err)
	}
	if _, err := f.a.SaveProfile(ctx, Profile{Product: "thermo", BootKeyHash: "abc"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("short boot key hash: %v, want ErrInvalid", err)
	}
	f.v.Lock()
	if _, err := f.a.AddIntermediate(ctx, IntermediateOptions{Product: "doorbell"}); err == nil {
		t.Error("AddIntermediate with the vault locked succeeded")
	}
	cas, err := f.a.CAs(ctx)
	if err != nil || len(cas) != 2 || cas[0].Kind != KindRoot {
		t.Errorf("CAs while locked: %v, %v", cas, err)
	}
	root, _ := cas[0].Certificate()
	inter, _ := cas[1].Certificate()
	if !root.IsCA || root.MaxPathLen != 1 || !inter.IsCA || !inter.MaxPathLenZero || inter.MaxPathLen != 0 {
		t.Errorf("path lengths: root %d, intermediate %d (zero %v)", root.MaxPathLen, inter.MaxPathLen, inter.MaxPathLenZero)
	}
	if err := inter.CheckSignatureFrom(root); err != nil {
		t.Error(err)
	}
}
