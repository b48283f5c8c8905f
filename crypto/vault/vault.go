package vault

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"filippo.io/age"

	"trustforge/crypto/keys"
	"trustforge/internal/usererr"
)

// Format is the version of the records this package writes.
const Format = 1

// MinPassphraseLen is the shortest passphrase Create and ChangePassphrase
// accept, in bytes.
const MinPassphraseLen = 8

// DefaultWorkFactor is log2 of the scrypt cost that seals the vault key:
// age's default, about a second on a laptop (a few in a browser).
const DefaultWorkFactor = 18

// Domain-separation labels, prefixed to what is sealed so a sealed vault
// key cannot pass for a key record or the other way round.
const (
	labelVaultKey = "trustforge/vault/key-identity/v1\n"
	labelRecord   = "trustforge/vault/record/v1\n"
)

// Options configure Create and Open. The zero value is ready to use.
type Options struct {
	// WorkFactor is log2 of the scrypt cost of new seals; zero means
	// DefaultWorkFactor. Opening accepts any cost up to 22.
	WorkFactor int
	// Rand is the source of new keys; nil means crypto/rand. (age draws
	// its own file keys from crypto/rand.)
	Rand io.Reader
	// Now is the clock of creation times; nil means time.Now.
	Now func() time.Time
	// Yield, when not nil, is called about every 25 ms of scrypt work
	// (unlocking, creating, backing up), so that a caller on a single
	// thread, as WebAssembly in a browser is, lets the page repaint and
	// answer input. An error from it stops the work with that error. Nil
	// means scrypt runs in one go.
	Yield func(context.Context) error
}

func (o Options) rand() io.Reader {
	if o.Rand == nil {
		return rand.Reader
	}
	return o.Rand
}

func (o Options) now() time.Time {
	if o.Now == nil {
		return time.Now().UTC().Truncate(time.Second)
	}
	return o.Now().UTC().Truncate(time.Second)
}

func (o Options) workFactor() int {
	if o.WorkFactor == 0 {
		return DefaultWorkFactor
	}
	return o.WorkFactor
}

// header is the vault's "vault" record.
type header struct {
	Format    int       `json:"format"`
	Created   time.Time `json:"created"`
	Recipient string    `json:"recipient"` // the vault key's age recipient
	Sealed    []byte    `json:"sealed"`    // age scrypt file: labelVaultKey + the vault key's identity
}

// record is a "key/ID" record.
type record struct {
	Format int    `json:"format"`
	Info   Info   `json:"info"`
	Sealed []byte `json:"sealed"` // age file to the vault key: labelRecord + ID + "\n" + private key text
}

// Vault is a key vault in a Store. It is safe for concurrent use. A Vault
// is locked until Unlock (or Create) and after Lock: its public records
// can be listed, its private keys cannot be used.
type Vault struct {
	st   Store
	opts Options

	mu     sync.Mutex
	hdr    header
	unlock *age.X25519Identity // nil while locked
}

// Exists reports whether st holds a vault.
func Exists(ctx context.Context, st Store) (bool, error) {
	_, ok, err := st.Get(ctx, headerKey)
	if err != nil {
		return false, usererr.Errorf("vault", "reading the store: %w", err)
	}
	return ok, nil
}

// Create makes a new, empty vault in st sealed with passphrase and returns
// it unlocked. It fails with ErrExists if st already holds one.
func Create(ctx context.Context, st Store, passphrase string, opts Options) (*Vault, error) {
	if len(passphrase) < MinPassphraseLen {
		return nil, usererr.Errorf("", "%w: use at least %d characters", ErrWeakPassphrase, MinPassphraseLen)
	}
	if ok, err := Exists(ctx, st); err != nil {
		return nil, err
	} else if ok {
		return nil, usererr.Errorf("", "%w: this browser already has a vault", ErrExists)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, usererr.Errorf("vault", "%w", err)
	}
	sealed, err := sealPassphrase(ctx, labelVaultKey+id.String(), passphrase, opts.workFactor(), opts.Yield)
	if err != nil {
		return nil, err
	}
	v := &Vault{st: st, opts: opts, unlock: id,
		hdr: header{Format: Format, Created: opts.now(), Recipient: id.Recipient().String(), Sealed: sealed}}
	if err := v.putJSON(ctx, headerKey, v.hdr); err != nil {
		return nil, err
	}
	return v, nil
}

// Open opens the vault in st, locked. It fails with ErrNoVault if there is
// none.
func Open(ctx context.Context, st Store, opts Options) (*Vault, error) {
	b, ok, err := st.Get(ctx, headerKey)
	if err != nil {
		return nil, usererr.Errorf("vault", "reading the store: %w", err)
	}
	if !ok {
		return nil, ErrNoVault
	}
	var h header
	if err := strictJSON(b, &h); err != nil || h.Format != Format || len(h.Sealed) == 0 {
		return nil, usererr.Errorf("", "%w: unreadable vault header", ErrCorrupt)
	}
	if _, err := age.ParseX25519Recipient(h.Recipient); err != nil {
		return nil, usererr.Errorf("", "%w: vault recipient: %v", ErrCorrupt, err)
	}
	return &Vault{st: st, opts: opts, hdr: h}, nil
}

// Created returns when the vault was made.
func (v *Vault) Created() time.Time { return v.hdr.Created }

// Locked reports whether the vault is locked.
func (v *Vault) Locked() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.unlock == nil
}

// Lock forgets the vault key. Keys already handed out stay usable by
// their holders; the vault hands out no more until Unlock.
func (v *Vault) Lock() {
	v.mu.Lock()
	v.unlock = nil
	v.mu.Unlock()
}

// Unlock opens the vault key with passphrase. A wrong passphrase gives
// ErrWrongPassphrase and leaves the vault locked.
func (v *Vault) Unlock(ctx context.Context, passphrase string) error {
	v.mu.Lock()
	hdr := v.hdr
	v.mu.Unlock()
	id, err := openVaultKey(ctx, hdr, passphrase, v.opts.Yield)
	if err != nil {
		return err
	}
	v.mu.Lock()
	v.unlock = id
	v.mu.Unlock()
	return nil
}

// openVaultKey unseals the vault key of h.
func openVaultKey(ctx context.Context, h header, passphrase string, yield func(context.Context) error) (*age.X25519Identity, error) {
	plain, err := openPassphrase(ctx, h.Sealed, passphrase, yield)
	if err != nil {
		return nil, err
	}
	text, ok := strings.CutPrefix(string(plain), labelVaultKey)
	if !ok {
		return nil, usererr.Errorf("", "%w: the vault key is not labelled as one", ErrCorrupt)
	}
	id, err := age.ParseX25519Identity(text)
	if err != nil {
		return nil, usererr.Errorf("", "%w: vault key: %v", ErrCorrupt, err)
	}
	if id.Recipient().String() != h.Recipient {
		return nil, usererr.Errorf("", "%w: the vault key does not match the vault", ErrCorrupt)
	}
	return id, nil
}

// ChangePassphrase seals the vault key with a new passphrase. The keys are
// not re-encrypted: only the header changes.
func (v *Vault) ChangePassphrase(ctx context.Context, old, new string) error {
	if len(new) < MinPassphraseLen {
		return usererr.Errorf("", "%w: use at least %d characters", ErrWeakPassphrase, MinPassphraseLen)
	}
	v.mu.Lock()
	hdr := v.hdr
	v.mu.Unlock()
	id, err := openVaultKey(ctx, hdr, old, v.opts.Yield)
	if err != nil {
		return err
	}
	sealed, err := sealPassphrase(ctx, labelVaultKey+id.String(), new, v.opts.workFactor(), v.opts.Yield)
	if err != nil {
		return err
	}
	hdr.Sealed = sealed
	if err := v.putJSON(ctx, headerKey, hdr); err != nil {
		return err
	}
	v.mu.Lock()
	v.hdr = hdr
	v.mu.Unlock()
	return nil
}

// List returns the public records of every key, by name then ID. It works
// while the vault is locked.
func (v *Vault) List(ctx context.Context) ([]Info, error) {
	names, err := v.st.List(ctx, keyPrefix)
	if err != nil {
		return nil, usererr.Errorf("vault", "listing keys: %w", err)
	}
	out := make([]Info, 0, len(names))
	for _, n := range names {
		r, err := v.record(ctx, strings.TrimPrefix(n, keyPrefix))
		if err != nil {
			return nil, err
		}
		out = append(out, r.Info)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Info returns the public record of key id.
func (v *Vault) Info(ctx context.Context, id string) (Info, error) {
	r, err := v.record(ctx, id)
	return r.Info, err
}

func (v *Vault) record(ctx context.Context, id string) (record, error) {
	b, ok, err := v.st.Get(ctx, keyPrefix+id)
	if err != nil {
		return record{}, usererr.Errorf("vault", "reading key %s: %w", id, err)
	}
	if !ok {
		return record{}, usererr.Errorf("", "%w: %s", ErrNotFound, id)
	}
	var r record
	if err := strictJSON(b, &r); err != nil || r.Format != Format || r.Info.ID != id {
		return record{}, usererr.Errorf("", "%w: key record %s is unreadable", ErrCorrupt, id)
	}
	return r, nil
}

// vaultKey returns the vault key, or ErrLocked.
func (v *Vault) vaultKey() (*age.X25519Identity, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.unlock == nil {
		return nil, ErrLocked
	}
	return v.unlock, nil
}

// Generate makes a new key of algorithm alg, named name, and stores it.
func (v *Vault) Generate(ctx context.Context, alg Algorithm, name string) (Info, error) {
	if _, err := v.vaultKey(); err != nil {
		return Info{}, err
	}
	var s secret
	switch alg {
	case ECDSAP256, Ed25519, X25519:
		k, err := keys.Generate(v.opts.rand(), keys.Algorithm(alg))
		if err != nil {
			return Info{}, usererr.Errorf("vault", "%w", err)
		}
		s.priv = k
	case AgeX25519:
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return Info{}, usererr.Errorf("vault", "%w", err)
		}
		s.id = id
	default:
		return Info{}, usererr.Errorf("", "%w: unknown algorithm %q", ErrWrongKind, alg)
	}
	return v.add(ctx, s, name, v.opts.now())
}

// Import stores a private key read from data: an imgtool PEM key (PKCS#8
// or SEC1, ECDSA P-256, Ed25519 or X25519), PKCS#8 DER, or an age identity.
// A key already in the vault gives ErrExists; a public key, a
// password-protected key or an unsupported algorithm gives ErrWrongKind.
func (v *Vault) Import(ctx context.Context, data []byte, name string) (Info, error) {
	if _, err := v.vaultKey(); err != nil {
		return Info{}, err
	}
	s, err := parseSecret(data)
	if err != nil {
		return Info{}, err
	}
	return v.add(ctx, s, name, v.opts.now())
}

// add seals s and stores it, refusing to replace an existing record.
func (v *Vault) add(ctx context.Context, s secret, name string, created time.Time) (Info, error) {
	name, err := cleanName(name)
	if err != nil {
		return Info{}, err
	}
	info := s.info(name, created)
	if info.Name == "" {
		info.Name = string(info.Algorithm) + " " + info.Fingerprint()[:8]
	}
	if _, ok, err := v.st.Get(ctx, keyPrefix+info.ID); err != nil {
		return Info{}, usererr.Errorf("vault", "reading the store: %w", err)
	} else if ok {
		return Info{}, usererr.Errorf("", "%w: key %s is already in the vault", ErrExists, info.Fingerprint())
	}
	text, err := s.marshal()
	if err != nil {
		return Info{}, usererr.Errorf("vault", "%w", err)
	}
	sealed, err := sealTo(v.hdr.Recipient, labelRecord+info.ID+"\n"+string(text))
	if err != nil {
		return Info{}, err
	}
	if err := v.putJSON(ctx, keyPrefix+info.ID, record{Format: Format, Info: info, Sealed: sealed}); err != nil {
		return Info{}, err
	}
	return info, nil
}

// Key unseals key id. The vault must be unlocked.
func (v *Vault) Key(ctx context.Context, id string) (*Key, error) {
	vk, err := v.vaultKey()
	if err != nil {
		return nil, err
	}
	r, err := v.record(ctx, id)
	if err != nil {
		return nil, err
	}
	s, err := unsealRecord(r, vk)
	if err != nil {
		return nil, err
	}
	return &Key{Info: r.Info, s: s}, nil
}

// unsealRecord opens r's private key and checks it against r's public
// half.
func unsealRecord(r record, vk *age.X25519Identity) (secret, error) {
	ar, err := age.Decrypt(bytes.NewReader(r.Sealed), vk)
	if err != nil {
		return secret{}, usererr.Errorf("", "%w: key %s does not open with this vault's key", ErrCorrupt, r.Info.ID)
	}
	plain, err := io.ReadAll(io.LimitReader(ar, 64<<10))
	if err != nil {
		return secret{}, usererr.Errorf("", "%w: key %s: %v", ErrCorrupt, r.Info.ID, err)
	}
	text, ok := strings.CutPrefix(string(plain), labelRecord+r.Info.ID+"\n")
	if !ok {
		return secret{}, usererr.Errorf("", "%w: key %s was sealed for another record", ErrCorrupt, r.Info.ID)
	}
	s, err := parseSecret([]byte(text))
	if err != nil {
		return secret{}, usererr.Errorf("", "%w: key %s: %v", ErrCorrupt, r.Info.ID, err)
	}
	got := s.info(r.Info.Name, r.Info.Created)
	if got != r.Info {
		return secret{}, usererr.Errorf("", "%w: key %s does not match its public record", ErrCorrupt, r.Info.ID)
	}
	return s, nil
}

// Identities unseals every age identity in the vault, to open release
// payloads. The vault must be unlocked.
func (v *Vault) Identities(ctx context.Context) ([]age.Identity, error) {
	infos, err := v.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []age.Identity
	for _, i := range infos {
		if !i.Algorithm.IsAge() {
			continue
		}
		k, err := v.Key(ctx, i.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, k.s.id)
	}
	return out, nil
}

// Delete removes key id. The vault must be unlocked, so a passer-by at a
// locked console cannot destroy keys.
func (v *Vault) Delete(ctx context.Context, id string) error {
	if _, err := v.vaultKey(); err != nil {
		return err
	}
	if _, err := v.record(ctx, id); err != nil && !errors.Is(err, ErrCorrupt) {
		return err
	}
	if err := v.st.Delete(ctx, keyPrefix+id); err != nil {
		return usererr.Errorf("vault", "deleting key %s: %w", id, err)
	}
	return nil
}

func (v *Vault) putJSON(ctx context.Context, key string, x any) error {
	b, err := json.Marshal(x)
	if err != nil {
		return usererr.Errorf("vault", "encoding %s: %w", key, err)
	}
	if err := v.st.Put(ctx, key, b); err != nil {
		return usererr.Errorf("vault", "writing %s: %w", key, err)
	}
	return nil
}

// strictJSON decodes one JSON value with no unknown fields.
func strictJSON(b []byte, x any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(x); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}
