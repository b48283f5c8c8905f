package pki_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"net/url"

	"trustforge/crypto/keys"
	"trustforge/crypto/pki"
	"trustforge/crypto/vault"
)

// memStore is the smallest vault.Store, for the example.
type memStore map[string][]byte

func (m memStore) Get(_ context.Context, k string) ([]byte, bool, error) {
	v, ok := m[k]
	return v, ok, nil
}
func (m memStore) Put(_ context.Context, k string, v []byte) error { m[k] = v; return nil }
func (m memStore) Delete(_ context.Context, k string) error        { delete(m, k); return nil }
func (m memStore) List(_ context.Context, prefix string) ([]string, error) {
	var out []string
	for k := range m {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			out = append(out, k)
		}
	}
	for i := range out { // sorted, as a Store must list
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out, nil
}

// Example creates a CA hierarchy, checks a board's certificate signing
// request and issues its certificate chain.
func Example() {
	ctx := context.Background()
	st := memStore{}
	v, _ := vault.Create(ctx, st, "a long passphrase", vault.Options{WorkFactor: 10})
	ca := pki.New(st, v, pki.Options{})
	ca.InitRoot(ctx, pki.RootOptions{Organization: "Acme Devices"})
	ca.AddIntermediate(ctx, pki.IntermediateOptions{Product: "thermo"})
	profile, _ := ca.SaveProfile(ctx, pki.Profile{Product: "thermo"})

	// On the board: an identity key and a request for the subject the
	// console asked for.
	deviceID := "0011223344556677"
	boardKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, _ := keys.NewPublicKey(&boardKey.PublicKey)
	policy, _ := ca.Policy(ctx, profile, deviceID, pub)
	want, _ := policy.Template.Render(policy.Base, policy.Product, deviceID)
	fmt.Println("subject:", want.Name)
	u, _ := url.Parse(want.URI)
	raw, _ := want.Name.DER()
	tmpl := &x509.CertificateRequest{RawSubject: raw, URIs: []*url.URL{u}}
	csrDER, _ := x509.CreateCertificateRequest(rand.Reader, tmpl, boardKey)

	// In the console: check the request, issue, verify.
	csr, err := policy.Check(csrDER)
	if err != nil {
		fmt.Println(err)
		return
	}
	prov, _ := ca.Issue(ctx, profile, deviceID, csr)
	fmt.Println("chain:", len(prov.Chain), "certificates")
	fmt.Println("verified:", ca.Verify(ctx, prov.Chain, profile, deviceID, pub) == nil)
	// Output:
	// subject: O=Acme Devices, OU=thermo, CN=thermo-0011223344556677
	// chain: 3 certificates
	// verified: true
}
