package pki

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"trustforge/crypto/keys"
	"trustforge/crypto/vault"
	"trustforge/internal/usererr"
)

// Format is the version of the records an Authority writes.
const Format = 1

// Store keys of an Authority's records, next to the vault's own.
const (
	prefix        = "pki/"
	caPrefix      = prefix + "ca/"
	profilePrefix = prefix + "profile/"
	issuedPrefix  = prefix + "issued/"
	crlPrefix     = prefix + "crl/"
)

// Kinds of CA.
const (
	KindRoot         = "root"
	KindIntermediate = "intermediate"
)

// Options configure an Authority. The zero value is ready to use.
type Options struct {
	// Rand is the source of serial numbers and signatures; nil means
	// crypto/rand.
	Rand io.Reader
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (o Options) rand() io.Reader {
	if o.Rand == nil {
		return defaultRand()
	}
	return o.Rand
}

func (o Options) now() time.Time {
	if o.Now == nil {
		return time.Now().UTC()
	}
	return o.Now().UTC()
}

// Authority is a CA hierarchy kept in a Store (the browser's IndexedDB,
// next to the vault) with its private keys in a vault: one root, an
// intermediate per product, provisioning profiles, and the ledger of
// every certificate issued. It is safe for concurrent use. Listing works
// while the vault is locked; creating CAs, issuing and revoking need it
// unlocked.
type Authority struct {
	st   vault.Store
	v    *vault.Vault
	opts Options
	mu   sync.Mutex // serialises issuance, revocation and CRL numbers
}

// New returns the authority whose records are in st and whose keys are in
// v.
func New(st vault.Store, v *vault.Vault, opts Options) *Authority {
	return &Authority{st: st, v: v, opts: opts}
}

// CAInfo describes a CA of the hierarchy.
type CAInfo struct {
	// ID is the vault ID of the CA's key: the hex SHA-256 of its
	// SubjectPublicKeyInfo.
	ID string `json:"id"`
	// Kind is KindRoot or KindIntermediate.
	Kind string `json:"kind"`
	// Product is an intermediate's product.
	Product string `json:"product,omitempty"`
	// Parent is an intermediate's root's ID.
	Parent string `json:"parent,omitempty"`
	// Cert is the CA's certificate, DER.
	Cert []byte `json:"cert"`
	// Created is when the CA was made.
	Created time.Time `json:"created"`
}

type caRecord struct {
	Format int `json:"format"`
	CAInfo
}

// Certificate parses the CA's certificate.
func (c CAInfo) Certificate() (*x509.Certificate, error) { return ParseCA(c.Cert) }

// Name returns the CA's subject, for people.
func (c CAInfo) Name() string {
	if cert, err := c.Certificate(); err == nil {
		return cert.Subject.String()
	}
	return c.ID
}

// Subtree returns the subject subtree an intermediate's certificates are
// confined to (O, OU).
func (c CAInfo) Subtree() (Name, error) {
	cert, err := c.Certificate()
	if err != nil {
		return nil, err
	}
	dc, ok, err := constraintsOf(cert)
	if err != nil {
		return nil, err
	}
	if !ok || len(dc.permitted) != 1 {
		return nil, usererr.Errorf("", "%w: CA %s has no single permitted subtree", ErrInvalid, c.ID[:16])
	}
	return dc.permitted[0], nil
}

func (a *Authority) getJSON(ctx context.Context, key string, x any) (bool, error) {
	b, ok, err := a.st.Get(ctx, key)
	if err != nil {
		return false, usererr.Errorf("pki", "reading %s: %w", key, err)
	}
	if !ok {
		return false, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(x); err != nil {
		return false, usererr.Errorf("", "%w: record %s: %v", ErrMalformed, key, err)
	}
	return true, nil
}

func (a *Authority) putJSON(ctx context.Context, key string, x any) error {
	b, err := json.Marshal(x)
	if err != nil {
		return usererr.Errorf("pki", "encoding %s: %w", key, err)
	}
	if err := a.st.Put(ctx, key, b); err != nil {
		return usererr.Errorf("pki", "writing %s: %w", key, err)
	}
	return nil
}

// CAs lists the hierarchy: the root first, then intermediates by product.
func (a *Authority) CAs(ctx context.Context) ([]CAInfo, error) {
	names, err := a.st.List(ctx, caPrefix)
	if err != nil {
		return nil, usererr.Errorf("pki", "listing CAs: %w", err)
	}
	out := make([]CAInfo, 0, len(names))
	for _, n := range names {
		var r caRecord
		if _, err := a.getJSON(ctx, n, &r); err != nil {
			return nil, err
		}
		if r.Format != Format || r.ID != strings.TrimPrefix(n, caPrefix) {
			return nil, usererr.Errorf("", "%w: CA record %s", ErrMalformed, n)
		}
		out = append(out, r.CAInfo)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind == KindRoot
		}
		return out[i].Product < out[j].Product
	})
	return out, nil
}

// CA returns the CA with ID id.
func (a *Authority) CA(ctx context.Context, id string) (CAInfo, error) {
	var r caRecord
	ok, err := a.getJSON(ctx, caPrefix+id, &r)
	if err != nil {
		return CAInfo{}, err
	}
	if !ok {
		return CAInfo{}, usererr.Errorf("", "%w: CA %s", ErrNotFound, id)
	}
	return r.CAInfo, nil
}

// Root returns the root CA; ErrNotFound before InitRoot.
func (a *Authority) Root(ctx context.Context) (CAInfo, error) {
	cas, err := a.CAs(ctx)
	if err != nil {
		return CAInfo{}, err
	}
	if len(cas) == 0 || cas[0].Kind != KindRoot {
		return CAInfo{}, usererr.Errorf("", "%w: no root CA yet", ErrNotFound)
	}
	return cas[0], nil
}

// Intermediate returns the intermediate CA of product.
func (a *Authority) Intermediate(ctx context.Context, product string) (CAInfo, error) {
	cas, err := a.CAs(ctx)
	if err != nil {
		return CAInfo{}, err
	}
	for _, c := range cas {
		if c.Kind == KindIntermediate && c.Product == product {
			return c, nil
		}
	}
	return CAInfo{}, usererr.Errorf("", "%w: no intermediate CA for product %q", ErrNotFound, product)
}

// InitRoot generates the root CA's key in the vault and self-signs its
// certificate. A store holds one root: a second gives ErrExists.
func (a *Authority) InitRoot(ctx context.Context, o RootOptions) (CAInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := a.Root(ctx); err == nil {
		return CAInfo{}, usererr.Errorf("", "%w: this console already has a root CA", ErrExists)
	} else if !errors.Is(err, ErrNotFound) {
		return CAInfo{}, err
	}
	if err := checkText("organization", o.Organization, MaxAttrLen); err != nil {
		return CAInfo{}, err
	}
	if o.Now.IsZero() {
		o.Now = a.opts.now()
	}
	key, info, err := a.newKey(ctx, "root CA: "+o.Organization)
	if err != nil {
		return CAInfo{}, err
	}
	ca, err := NewRoot(a.opts.rand(), key, o)
	if err != nil {
		a.v.Delete(ctx, info.ID)
		return CAInfo{}, err
	}
	c := CAInfo{ID: info.ID, Kind: KindRoot, Cert: ca.Cert.Raw, Created: o.Now.UTC()}
	if err := a.putJSON(ctx, caPrefix+c.ID, caRecord{Format: Format, CAInfo: c}); err != nil {
		return CAInfo{}, err
	}
	return c, nil
}

// AddIntermediate generates a product's intermediate CA key in the vault
// and certifies it with the root. A product has one intermediate: a
// second gives ErrExists.
func (a *Authority) AddIntermediate(ctx context.Context, o IntermediateOptions) (CAInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := a.Intermediate(ctx, o.Product); err == nil {
		return CAInfo{}, usererr.Errorf("", "%w: product %q already has an intermediate CA", ErrExists, o.Product)
	} else if !errors.Is(err, ErrNotFound) {
		return CAInfo{}, err
	}
	rootInfo, err := a.Root(ctx)
	if err != nil {
		return CAInfo{}, err
	}
	root, err := a.signer(ctx, rootInfo)
	if err != nil {
		return CAInfo{}, err
	}
	if o.Now.IsZero() {
		o.Now = a.opts.now()
	}
	key, info, err := a.newKey(ctx, "intermediate CA: "+o.Product)
	if err != nil {
		return CAInfo{}, err
	}
	ca, err := NewIntermediate(a.opts.rand(), root, key, o)
	if err != nil {
		a.v.Delete(ctx, info.ID)
		return CAInfo{}, err
	}
	c := CAInfo{ID: info.ID, Kind: KindIntermediate, Product: o.Product, Parent: rootInfo.ID, Cert: ca.Cert.Raw, Created: o.Now.UTC()}
	if err := a.putJSON(ctx, caPrefix+c.ID, caRecord{Format: Format, CAInfo: c}); err != nil {
		return CAInfo{}, err
	}
	return c, nil
}

// newKey generates an ECDSA P-256 CA key in the vault.
func (a *Authority) newKey(ctx context.Context, name string) (*keys.PrivateKey, vault.Info, error) {
	if len(name) > vault.MaxNameLen {
		name = name[:vault.MaxNameLen]
	}
	info, err := a.v.Generate(ctx, vault.ECDSAP256, name)
	if err != nil {
		return nil, vault.Info{}, usererr.Errorf("pki", "generating the CA key: %w", err)
	}
	k, err := a.v.Key(ctx, info.ID)
	if err != nil {
		return nil, vault.Info{}, err
	}
	priv, err := k.Private()
	if err != nil {
		return nil, vault.Info{}, err
	}
	return priv, info, nil
}

// signer unseals a CA's key from the vault and pairs it with its
// certificate, checking that they match.
func (a *Authority) signer(ctx context.Context, c CAInfo) (*CA, error) {
	cert, err := c.Certificate()
	if err != nil {
		return nil, err
	}
	markHandled(cert)
	k, err := a.v.Key(ctx, c.ID)
	if err != nil {
		return nil, usererr.Errorf("pki", "the key of CA %q: %w", cert.Subject.CommonName, err)
	}
	priv, err := k.Private()
	if err != nil {
		return nil, err
	}
	s, err := checkCAKey(priv)
	if err != nil {
		return nil, err
	}
	pub, err := keys.NewPublicKey(cert.PublicKey)
	if err != nil || !pub.Equal(priv.Public()) {
		return nil, usererr.Errorf("", "%w: the vault key %s does not match CA %q", ErrInvalid, c.ID[:16], cert.Subject.CommonName)
	}
	return &CA{Cert: cert, Signer: s}, nil
}

// SaveProfile stores a product's provisioning profile, replacing the one
// it had. Its issuer must be an intermediate of the hierarchy.
func (a *Authority) SaveProfile(ctx context.Context, p Profile) (Profile, error) {
	if err := p.Validate(); err != nil {
		return Profile{}, err
	}
	if p.Issuer == "" {
		c, err := a.Intermediate(ctx, p.Product)
		if err != nil {
			return Profile{}, err
		}
		p.Issuer = c.ID
	}
	c, err := a.CA(ctx, p.Issuer)
	if err != nil {
		return Profile{}, err
	}
	if c.Kind != KindIntermediate {
		return Profile{}, usererr.Errorf("", "%w: devices are certified by an intermediate CA, not the root", ErrInvalid)
	}
	base, err := c.Subtree()
	if err != nil {
		return Profile{}, err
	}
	if _, err := p.Template.Render(base, p.Product, "00"); err != nil {
		return Profile{}, err
	}
	p.Updated = a.opts.now()
	return p, a.putJSON(ctx, profilePrefix+p.Product, p)
}

// Profile returns the profile of product.
func (a *Authority) Profile(ctx context.Context, product string) (Profile, error) {
	var p Profile
	ok, err := a.getJSON(ctx, profilePrefix+product, &p)
	if err != nil {
		return Profile{}, err
	}
	if !ok {
		return Profile{}, usererr.Errorf("", "%w: no provisioning profile for product %q", ErrNotFound, product)
	}
	return p, nil
}

// Profiles lists the profiles by product.
func (a *Authority) Profiles(ctx context.Context) ([]Profile, error) {
	names, err := a.st.List(ctx, profilePrefix)
	if err != nil {
		return nil, usererr.Errorf("pki", "listing profiles: %w", err)
	}
	out := make([]Profile, 0, len(names))
	for _, n := range names {
		p, err := a.Profile(ctx, strings.TrimPrefix(n, profilePrefix))
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
