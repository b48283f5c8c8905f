package pki

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"io"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"trustforge/crypto/keys"
	"trustforge/crypto/vault"
)

// memStore is a vault.Store in memory.
type memStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

func newMemStore() *memStore { return &memStore{m: map[string][]byte{}} }

func (s *memStore) Get(_ context.Context, key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	return append([]byte(nil), v...), ok, nil
}

func (s *memStore) Put(_ context.Context, key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = append([]byte(nil), value...)
	return nil
}

func (s *memStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

func (s *memStore) List(_ context.Context, prefix string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.m {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (s *memStore) keys() []string {
	out, _ := s.List(context.Background(), "")
	return out
}

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fixture is an authority with a root, an intermediate for "thermo" and
// its profile.
type fixture struct {
	st      *memStore
	v       *vault.Vault
	a       *Authority
	root    CAInfo
	inter   CAInfo
	profile Profile
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	st := newMemStore()
	v, err := vault.Create(ctx, st, "correct horse battery", vault.Options{WorkFactor: 1})
	if err != nil {
		t.Fatal(err)
	}
	a := New(st, v, Options{Now: func() time.Time { return testNow }})
	root, err := a.InitRoot(ctx, RootOptions{Organization: "Acme Devices"})
	if err != nil {
		t.Fatal(err)
	}
	inter, err := a.AddIntermediate(ctx, IntermediateOptions{Product: "thermo"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.SaveProfile(ctx, Profile{Product: "thermo", EncryptImages: true})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, v: v, a: a, root: root, inter: inter, profile: p}
}

// board is a device identity key, as a board generates it.
type board struct {
	id  string
	key *ecdsa.PrivateKey
}

func newBoard(t testing.TB, id string) *board {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &board{id: id, key: k}
}

func (b *board) pub(t testing.TB) *keys.PublicKey {
	t.Helper()
	k, err := keys.NewPublicKey(&b.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// csr makes a request for subject, signed by the board's key, with uri as
// its only alternative name ("" for none).
func (b *board) csr(t testing.TB, subject Name, uri string) []byte {
	t.Helper()
	raw, err := asn1.Marshal(subject.rdns())
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.CertificateRequest{RawSubject: raw}
	if uri != "" {
		u, err := url.Parse(uri)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = []*url.URL{u}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, b.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// policy returns the fixture profile's policy for b.
func (f *fixture) policy(t testing.TB, b *board) CSRPolicy {
	t.Helper()
	p, err := f.a.Policy(context.Background(), f.profile, b.id, b.pub(t))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// provision runs a board through CSR check and issuance.
func (f *fixture) provision(t testing.TB, b *board) *Provisioned {
	t.Helper()
	pol := f.policy(t, b)
	subj, err := pol.Template.Render(pol.Base, pol.Product, b.id)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := pol.Check(b.csr(t, subj.Name, subj.URI))
	if err != nil {
		t.Fatal(err)
	}
	prov, err := f.a.Issue(context.Background(), f.profile, b.id, csr)
	if err != nil {
		t.Fatal(err)
	}
	return prov
}

// openAge decrypts an age file sealed to passphrase.
func openAge(t testing.TB, sealed []byte, passphrase string) []byte {
	t.Helper()
	id, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		t.Fatal(err)
	}
	r, err := age.Decrypt(bytes.NewReader(sealed), id)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
