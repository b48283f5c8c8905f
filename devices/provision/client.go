package provision

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"trustforge/crypto/keys"
	"trustforge/crypto/pki"
	"trustforge/devices/smp"
	"trustforge/internal/usererr"
)

// Doer sends SMP requests: an *smp.Client.
type Doer interface {
	Do(ctx context.Context, r smp.Request, resp any) error
}

// Client sends provisioning commands to one board.
type Client struct {
	d Doer
	// ChunkSize is the chain bytes per upload request. Zero means 256,
	// which fits Zephyr's default 384-byte SMP buffer.
	ChunkSize int
}

// NewClient returns a client sending through d (an *smp.Client).
func NewClient(d Doer) *Client { return &Client{d: d} }

// keyTimeout bounds commands that make a board generate a key or sign,
// which take a microcontroller a while.
const keyTimeout = 10 * time.Second

func (c *Client) do(ctx context.Context, r smp.Request, resp any) error {
	r.Group = Group
	return translate(c.d.Do(ctx, r, resp))
}

// Info is what a board reports of itself.
type Info struct {
	// ID is the board's unique id, lowercase hex.
	ID string
	// Model and Rev are its hardware model and revision.
	Model, Rev string
	// What is provisioned.
	IDKey, Chain, BootKey, EncKey bool
	// Locked boards refuse provisioning writes.
	Locked bool
}

// State describes what is provisioned, e.g. "identity key, chain, locked".
func (i Info) State() string {
	var parts []string
	for _, x := range []struct {
		set  bool
		name string
	}{{i.IDKey, "identity key"}, {i.Chain, "certificate chain"}, {i.BootKey, "boot key fused"}, {i.EncKey, "encryption key"}, {i.Locked, "locked"}} {
		if x.set {
			parts = append(parts, x.name)
		}
	}
	if len(parts) == 0 {
		return "blank"
	}
	s := parts[0]
	for _, p := range parts[1:] {
		s += ", " + p
	}
	return s
}

// Info asks the board for its id, model and provisioning state.
func (c *Client) Info(ctx context.Context) (Info, error) {
	var r InfoResponse
	if err := c.do(ctx, smp.Request{Name: "provisioning info", Op: smp.OpRead, ID: CmdInfo, Idempotent: true}, &r); err != nil {
		return Info{}, err
	}
	if len(r.ID) == 0 || len(r.ID) > MaxIDLen {
		return Info{}, usererr.Errorf("", "%w: a device id of %d bytes (1 to %d)", ErrBadAnswer, len(r.ID), MaxIDLen)
	}
	if len(r.Model) > 64 || len(r.Rev) > 64 {
		return Info{}, usererr.Errorf("", "%w: model or revision longer than 64 bytes", ErrBadAnswer)
	}
	return Info{ID: DeviceID(r.ID), Model: r.Model, Rev: r.Rev, IDKey: r.IDKey, Chain: r.Chain,
		BootKey: r.BootKey, EncKey: r.EncKey, Locked: r.Locked}, nil
}

// parseKey reads a public key the board sent and checks its algorithm.
func parseKey(der []byte, alg keys.Algorithm) (*keys.PublicKey, error) {
	if len(der) == 0 || len(der) > 256 {
		return nil, usererr.Errorf("", "%w: a public key of %d bytes", ErrBadAnswer, len(der))
	}
	k, err := keys.ParseSPKI(der)
	if err != nil {
		return nil, usererr.Errorf("", "%w: %v", ErrBadAnswer, err)
	}
	if k.Algorithm() != alg {
		return nil, usererr.Errorf("", "%w: a %s key, want %s", ErrBadAnswer, k.Algorithm(), alg)
	}
	return k, nil
}

// GenerateIdentityKey makes the board generate a new P-256 identity key,
// replacing any it had (and dropping its chain), and returns its public
// half. A locked board refuses.
func (c *Client) GenerateIdentityKey(ctx context.Context) (*keys.PublicKey, error) {
	var r KeyResponse
	err := c.do(ctx, smp.Request{Name: "identity key generation", Op: smp.OpWrite, ID: CmdIDKey,
		Body: KeyRequest{Alg: AlgP256}, Timeout: keyTimeout}, &r)
	if err != nil {
		return nil, err
	}
	return parseKey(r.Key, keys.ECDSAP256)
}

// IdentityKey returns the board's identity public key.
func (c *Client) IdentityKey(ctx context.Context) (*keys.PublicKey, error) {
	var r KeyResponse
	if err := c.do(ctx, smp.Request{Name: "identity key read", Op: smp.OpRead, ID: CmdIDKey, Idempotent: true}, &r); err != nil {
		return nil, err
	}
	return parseKey(r.Key, keys.ECDSAP256)
}

// CSR asks the board for a PKCS#10 request for subject (and URI, when not
// empty) signed with its identity key. It returns the DER as the board
// sent it: check it with a pki.CSRPolicy.
func (c *Client) CSR(ctx context.Context, subject pki.Name, uri string) ([]byte, error) {
	req := CSRRequest{URI: uri}
	for _, a := range subject {
		req.Subject = append(req.Subject, [2]string{a.Type, a.Value})
	}
	var r CSRResponse
	err := c.do(ctx, smp.Request{Name: "certificate request", Op: smp.OpRead, ID: CmdCSR, Body: req,
		Idempotent: true, Timeout: keyTimeout}, &r)
	if err != nil {
		return nil, err
	}
	if len(r.CSR) == 0 || len(r.CSR) > pki.MaxCSRSize {
		return nil, usererr.Errorf("", "%w: a certificate request of %d bytes", ErrBadAnswer, len(r.CSR))
	}
	return r.CSR, nil
}

func (c *Client) chunk() int {
	if c.ChunkSize > 0 {
		return c.ChunkSize
	}
	return 256
}

// InstallChain uploads a chain (concatenated DER, the device certificate
// first, the root last) in chunks; the board checks it once complete and
// stores it in place of any it had. An interrupted upload resumes at the
// offset the board reports.
func (c *Client) InstallChain(ctx context.Context, chain []byte) error {
	if len(chain) == 0 || len(chain) > MaxChainLen {
		return usererr.Errorf("provision", "a chain of %d bytes (1 to %d)", len(chain), MaxChainLen)
	}
	total := uint64(len(chain))
	off := uint64(0)
	for rounds := 0; ; rounds++ {
		if rounds > 4*len(chain)/c.chunk()+16 {
			return usererr.Errorf("", "%w: the chain upload is not progressing", ErrBadAnswer)
		}
		end := min(off+uint64(c.chunk()), total)
		req := ChainChunk{Off: off, Data: chain[off:end]}
		if off == 0 {
			req.Len = &total
		}
		var r OffsetResponse
		err := c.do(ctx, smp.Request{Name: "chain upload", Op: smp.OpWrite, ID: CmdChain, Body: req,
			Idempotent: true, Timeout: keyTimeout}, &r)
		if err != nil {
			return err
		}
		if r.Off > total {
			return usererr.Errorf("", "%w: the board expects offset %d of a %d-byte chain", ErrBadAnswer, r.Off, total)
		}
		if r.Off == total && end == total {
			return nil
		}
		off = r.Off
	}
}

// Chain reads the chain the board stores (concatenated DER).
func (c *Client) Chain(ctx context.Context) ([]byte, error) {
	var out []byte
	for {
		var r ChainReadResponse
		err := c.do(ctx, smp.Request{Name: "chain read", Op: smp.OpRead, ID: CmdChain,
			Body: ChainReadRequest{Off: uint64(len(out))}, Idempotent: true}, &r)
		if err != nil {
			return nil, err
		}
		if r.Len > MaxChainLen || r.Off != uint64(len(out)) || r.Off+uint64(len(r.Data)) > r.Len {
			return nil, usererr.Errorf("", "%w: chain chunk at %d of %d bytes, length %d", ErrBadAnswer, r.Off, len(r.Data), r.Len)
		}
		out = append(out, r.Data...)
		if uint64(len(out)) == r.Len {
			return out, nil
		}
		if len(r.Data) == 0 {
			return nil, usererr.Errorf("", "%w: an empty chain chunk at %d of %d", ErrBadAnswer, r.Off, r.Len)
		}
	}
}

// FuseBootKey writes the hash (SHA-256 of the SubjectPublicKeyInfo) of the
// key the bootloader will trust. The board keeps it for ever: writing
// another hash later is refused (ErrCodeAlreadySet); writing the same one
// again succeeds.
func (c *Client) FuseBootKey(ctx context.Context, hash []byte) error {
	if len(hash) != BootKeyHashLen {
		return usererr.Errorf("provision", "a boot key hash of %d bytes, want %d", len(hash), BootKeyHashLen)
	}
	return c.do(ctx, smp.Request{Name: "boot key fuse", Op: smp.OpWrite, ID: CmdBootKey,
		Body: BootKeyMessage{Hash: hash}, Idempotent: true}, nil)
}

// BootKeyHash returns the fused boot key hash.
func (c *Client) BootKeyHash(ctx context.Context) ([]byte, error) {
	var r BootKeyMessage
	if err := c.do(ctx, smp.Request{Name: "boot key read", Op: smp.OpRead, ID: CmdBootKey, Idempotent: true}, &r); err != nil {
		return nil, err
	}
	if len(r.Hash) != BootKeyHashLen {
		return nil, usererr.Errorf("", "%w: a boot key hash of %d bytes", ErrBadAnswer, len(r.Hash))
	}
	return r.Hash, nil
}

// EncryptionKey makes the board generate its X25519 image encryption key
// unless it has one, and returns the public half.
func (c *Client) EncryptionKey(ctx context.Context) (*keys.PublicKey, error) {
	var r KeyResponse
	err := c.do(ctx, smp.Request{Name: "encryption key generation", Op: smp.OpWrite, ID: CmdEncKey,
		Body: KeyRequest{Alg: AlgX25519}, Idempotent: true, Timeout: keyTimeout}, &r)
	if err != nil {
		return nil, err
	}
	return parseKey(r.Key, keys.X25519)
}

// ReadEncryptionKey returns the public half of the board's image
// encryption key without generating one.
func (c *Client) ReadEncryptionKey(ctx context.Context) (*keys.PublicKey, error) {
	var r KeyResponse
	if err := c.do(ctx, smp.Request{Name: "encryption key read", Op: smp.OpRead, ID: CmdEncKey, Idempotent: true}, &r); err != nil {
		return nil, err
	}
	return parseKey(r.Key, keys.X25519)
}

// Lock locks the board whose id (hex) is id: from then on it refuses
// every provisioning write. If the answer is lost, Lock asks the board
// whether it is locked.
func (c *Client) Lock(ctx context.Context, id string) error {
	raw, err := decodeID(id)
	if err != nil {
		return err
	}
	err = c.do(ctx, smp.Request{Name: "lock", Op: smp.OpWrite, ID: CmdLock, Body: LockRequest{ID: raw}}, nil)
	if err == nil {
		return nil
	}
	info, ierr := c.Info(ctx)
	if ierr == nil && info.Locked && info.ID == id {
		return nil
	}
	return err
}

// BootKeyHashOf returns the hash FuseBootKey takes for a signing key.
func BootKeyHashOf(k *keys.PublicKey) []byte {
	sum := sha256.Sum256(k.SPKI())
	return sum[:]
}

func decodeID(id string) ([]byte, error) {
	canon, err := pki.ParseDeviceID(id)
	if err != nil {
		return nil, err
	}
	return hex.DecodeString(canon)
}
