package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"trustforge/crypto/audit"
	"trustforge/crypto/keys"
	"trustforge/crypto/pki"
	"trustforge/crypto/vault"
	"trustforge/internal/apiwire"
)

// testCA is a device CA hierarchy for the product "sensor".
type testCA struct {
	a       *pki.Authority
	profile pki.Profile
}

type mapStore map[string][]byte

func (m mapStore) Get(_ context.Context, k string) ([]byte, bool, error) {
	v, ok := m[k]
	return v, ok, nil
}
func (m mapStore) Put(_ context.Context, k string, v []byte) error { m[k] = v; return nil }
func (m mapStore) Delete(_ context.Context, k string) error        { delete(m, k); return nil }
func (m mapStore) List(_ context.Context, p string) ([]string, error) {
	var out []string
	for k := range m {
		if strings.HasPrefix(k, p) {
			out = append(out, k)
		}
	}
	return out, nil
}

func newTestCA(t *testing.T, now time.Time) *testCA {
	t.Helper()
	ctx := context.Background()
	st := mapStore{}
	v, err := vault.Create(ctx, st, "test passphrase", vault.Options{WorkFactor: 1})
	if err != nil {
		t.Fatal(err)
	}
	a := pki.New(st, v, pki.Options{Now: func() time.Time { return now }})
	if _, err := a.InitRoot(ctx, pki.RootOptions{Organization: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AddIntermediate(ctx, pki.IntermediateOptions{Product: "sensor"}); err != nil {
		t.Fatal(err)
	}
	p, err := a.SaveProfile(ctx, pki.Profile{Product: "sensor"})
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{a: a, profile: p}
}

// root returns the CA's root certificate.
func (c *testCA) root(t testing.TB) *x509.Certificate {
	t.Helper()
	info, err := c.a.Root(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := info.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// addRoot registers root as a trust anchor of "sensor", as an engineer.
func (e *env) addRoot(root *x509.Certificate) {
	e.t.Helper()
	e.mustJSON("POST", "/api/products/sensor/device-roots", e.tokens["engineer"], map[string]string{"certificate": string(pki.CertPEM(root))}, 201)
}

// issue certifies a fresh board key for device id.
func (c *testCA) issue(t *testing.T, id string) pki.Chain {
	t.Helper()
	ctx := context.Background()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, _ := keys.NewPublicKey(&k.PublicKey)
	pol, err := c.a.Policy(ctx, c.profile, id, pub)
	if err != nil {
		t.Fatal(err)
	}
	subj, _ := pol.Template.Render(pol.Base, pol.Product, id)
	raw, _ := subj.Name.DER()
	u, _ := url.Parse(subj.URI)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{RawSubject: raw, URIs: []*url.URL{u}}, k)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := pol.Check(der)
	if err != nil {
		t.Fatal(err)
	}
	prov, err := c.a.Issue(ctx, c.profile, id, csr)
	if err != nil {
		t.Fatal(err)
	}
	return prov.Chain
}

func (e *env) auditActions(t *testing.T) []string {
	var out []string
	e.srv.store.AuditEntries(context.Background(), 0, func(en audit.Entry) error {
		out = append(out, en.Action)
		return nil
	})
	return out
}

func TestDeviceRegistry(t *testing.T) {
	e := newEnv(t)
	ca := newTestCA(t, e.clock.now())
	e.addRoot(ca.root(t))
	encKey, _ := keys.Generate(nil, keys.X25519)
	chain := ca.issue(t, "00aa11bb")
	reg := map[string]any{"id": "00aa11bb", "product": "sensor", "model": "sim", "rev": "A", "chain": string(chain.PEM()),
		"encryption_key": string(encKey.Public().MarshalPEM()), "boot_key_hash": strings.Repeat("ab", 32)}
	var dev apiwire.Device
	e.mustJSONOut("POST", "/api/devices", e.tokens["engineer"], reg, 201, &dev)
	if dev.Operator != "engineer1" || dev.Serial == "" || dev.EncryptionKey == "" || dev.Revoked != nil {
		t.Errorf("registered device %+v", dev)
	}
	before := len(e.auditActions(t))

	other := newTestCA(t, e.clock.now())
	priv, _ := keys.Generate(nil, keys.ECDSAP256)
	privPEM, _ := priv.MarshalPEM()
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for a, b := range reg {
			m[a] = b
		}
		m[k] = v
		return m
	}
	fresh := ca.issue(t, "00aa11ee")
	withFresh := func(k string, v any) map[string]any {
		m := with("chain", string(fresh.PEM()))
		m["id"] = "00aa11ee"
		m[k] = v
		return m
	}
	badSig := fresh.DER()
	badSig[len(fresh[0].Raw)-5] ^= 1
	badSigChain, err := pki.ParseChain(badSig)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		body   map[string]any
		status int
		code   string
	}{
		{"a clone: the same device id again", with("chain", string(ca.issue(t, "00aa11bb").PEM())), 409, "device_registered"},
		{"a certificate for another device", with("id", "00aa11cc"), 422, "wrong_device"},
		{"a chain from another root", with("chain", string(other.issue(t, "00aa11dd").PEM())), 422, "untrusted_ca"},
		{"a chain that does not parse", withFresh("chain", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 400, "bad_field"},
		{"a certificate whose signature does not verify", withFresh("chain", string(badSigChain.PEM())), 422, "bad_chain"},
		{"a private key as the encryption key", withFresh("encryption_key", string(privPEM)), 400, "private_key"},
		{"a signing key as the encryption key", withFresh("encryption_key", string(priv.Public().MarshalPEM())), 400, "bad_field"},
		{"an unknown product", withFresh("product", "doorbell"), 422, "unknown_product"},
		{"an upper-case id", withFresh("id", "00AA11EE"), 400, "bad_field"},
		{"the device certificate alone", withFresh("chain", string(pki.CertPEM(fresh[0]))), 422, "bad_chain"},
	}
	for _, tt := range tests {
		resp := e.doJSON("POST", "/api/devices", e.tokens["engineer"], tt.body)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.status)
		}
		if code := errorCode(t, resp); code != tt.code {
			t.Errorf("%s: code %q, want %q", tt.name, code, tt.code)
		}
	}
	if after := len(e.auditActions(t)); after != before {
		t.Errorf("refused registrations appended %d audit entries", after-before)
	}

	// Search, read, revoke, publish and fetch the CRL.
	var list struct{ Devices []apiwire.Device }
	e.mustJSONOut("GET", "/api/devices?q=00aa", e.tokens["technician"], nil, 200, &list)
	if len(list.Devices) != 1 || list.Devices[0].ID != "00aa11bb" {
		t.Errorf("search: %+v", list.Devices)
	}
	var got apiwire.Device
	e.mustJSONOut("GET", "/api/devices/00aa11bb", e.tokens["technician"], nil, 200, &got)
	k, err := keys.ParsePublicKey([]byte(got.EncryptionKey))
	if err != nil || !k.Equal(encKey.Public()) {
		t.Errorf("the registry's encryption key %v differs: %v", k, err)
	}
	e.mustJSONOut("POST", "/api/devices/00aa11bb/revoke", e.tokens["engineer"], map[string]string{"reason": "keyCompromise"}, 200, &got)
	if got.Revoked == nil || got.Revoked.By != "engineer1" {
		t.Errorf("revoked: %+v", got.Revoked)
	}
	e.mustJSON("POST", "/api/devices/00aa11bb/revoke", e.tokens["engineer"], map[string]string{"reason": "again"}, 409)
	e.mustJSONOut("GET", "/api/devices", e.tokens["technician"], nil, 200, &list)
	if len(list.Devices) != 0 {
		t.Errorf("a revoked device is listed without revoked=true")
	}
	ctx := context.Background()
	if _, err := ca.a.Revoke(ctx, ca.profile.Issuer, got.Serial, pki.ReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	crl, err := ca.a.CRL(ctx, ca.profile.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	var cj apiwire.CRLInfo
	e.mustJSONOut("POST", "/api/crls", e.tokens["engineer"], map[string]string{"crl": string(pki.CRLPEM(crl))}, 201, &cj)
	if cj.Number != "1" || cj.Revoked != 1 || cj.Issuer != got.Issuer {
		t.Errorf("published CRL %+v", cj)
	}
	e.mustJSON("POST", "/api/crls", e.tokens["engineer"], map[string]string{"crl": string(pki.CRLPEM(crl))}, 409)
	foreign, _ := other.a.CRL(ctx, other.profile.Issuer)
	e.mustJSON("POST", "/api/crls", e.tokens["engineer"], map[string]string{"crl": string(pki.CRLPEM(foreign))}, 422)
	resp, body := e.get("/api/crls/"+got.Issuer+".crl", "", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pkix-crl" {
		t.Fatalf("CRL download: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if l, err := pki.ParseCRL(body, chain[1]); err != nil || len(l.RevokedCertificateEntries) != 1 {
		t.Errorf("downloaded CRL: %v", err)
	}
	actions := strings.Join(e.auditActions(t), " ")
	for _, a := range []string{"device.register", "device.revoke", "crl.publish"} {
		if !strings.Contains(actions, a) {
			t.Errorf("audit log lacks %s: %s", a, actions)
		}
	}
	_ = http.StatusOK
}
