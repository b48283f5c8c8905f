package sim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"

	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
	"trustforge/crypto/pki"
	"trustforge/devices/provision"
	"trustforge/devices/smp"
)

// Provisioning defaults.
const (
	DefaultModel = "trustforge-sim"
	DefaultRev   = "A"
	// DefaultUIDLen is the length of a generated unique id: 96 bits, as
	// many microcontrollers' factory ids.
	DefaultUIDLen = 12
)

// ProvisionConfig describes the board's provisioning storage: the unique id
// it was made with, and where its identity key, certificate chain, fused
// boot key hash, image encryption key and lock are kept (a secure element
// and OTP on real hardware). The zero value is a board with a random id,
// its storage in memory.
type ProvisionConfig struct {
	// UID is the board's factory unique id, 1 to 32 bytes. Empty means the
	// one in File, or else DefaultUIDLen random bytes, kept in File.
	UID []byte
	// Model and Rev are what the board reports as its hardware. Empty
	// means DefaultModel and DefaultRev.
	Model, Rev string
	// File keeps the provisioning storage in that file, created when
	// missing, so restarts keep it. Empty keeps it in memory: a power cycle
	// keeps it, a new Board does not.
	File string
	// Rand is the source of the keys the board generates; nil means
	// crypto/rand.
	Rand io.Reader
}

// provState is the board's provisioning storage. It is written whole to
// ProvisionConfig.File at every change.
type provState struct {
	UID     []byte `json:"uid"`
	IDKey   []byte `json:"idkey,omitempty"`   // PKCS#8 DER
	Chain   []byte `json:"chain,omitempty"`   // concatenated DER
	BootKey []byte `json:"bootkey,omitempty"` // SHA-256, fused
	EncKey  []byte `json:"enckey,omitempty"`  // PKCS#8 DER
	Locked  bool   `json:"locked,omitempty"`

	idKey  *keys.PrivateKey // parsed IDKey
	encKey *keys.PrivateKey // parsed EncKey
	upload []byte           // a chain upload in progress
	upLen  int
}

// openProvision loads or creates the provisioning storage.
func openProvision(c *ProvisionConfig) (*provState, error) {
	if c.Model == "" {
		c.Model = DefaultModel
	}
	if c.Rev == "" {
		c.Rev = DefaultRev
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if len(c.UID) > provision.MaxIDLen {
		return nil, fmt.Errorf("sim: a unique id of %d bytes (at most %d)", len(c.UID), provision.MaxIDLen)
	}
	st := &provState{}
	if c.File != "" {
		b, err := os.ReadFile(c.File)
		switch {
		case err == nil:
			if err := json.Unmarshal(b, st); err != nil {
				return nil, fmt.Errorf("sim: provisioning file %s: %w", c.File, err)
			}
			if len(c.UID) > 0 && !bytes.Equal(c.UID, st.UID) {
				return nil, fmt.Errorf("sim: provisioning file %s belongs to board %x, not %x", c.File, st.UID, c.UID)
			}
		case os.IsNotExist(err):
		default:
			return nil, fmt.Errorf("sim: provisioning file: %w", err)
		}
	}
	if len(st.UID) == 0 {
		st.UID = c.UID
		if len(st.UID) == 0 {
			st.UID = make([]byte, DefaultUIDLen)
			if _, err := io.ReadFull(c.Rand, st.UID); err != nil {
				return nil, fmt.Errorf("sim: unique id: %w", err)
			}
		}
		if err := st.save(c.File); err != nil {
			return nil, err
		}
	}
	var err error
	if len(st.IDKey) > 0 {
		if st.idKey, err = keys.ParsePKCS8(st.IDKey); err != nil {
			return nil, fmt.Errorf("sim: provisioning file: identity key: %w", err)
		}
	}
	if len(st.EncKey) > 0 {
		if st.encKey, err = keys.ParsePKCS8(st.EncKey); err != nil {
			return nil, fmt.Errorf("sim: provisioning file: encryption key: %w", err)
		}
	}
	return st, nil
}

// save writes the storage to path (nothing when empty), atomically.
func (st *provState) save(path string) error {
	if path == "" {
		return nil
	}
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("sim: provisioning storage: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".prov-*")
	if err != nil {
		return fmt.Errorf("sim: provisioning storage: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("sim: provisioning storage: %w", err)
	}
	return nil
}

// UID returns the board's unique id.
func (b *Board) UID() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.prov.UID...)
}

// Provisioned describes what the board's provisioning storage holds.
type Provisioned struct {
	IDKey   *keys.PublicKey // the identity key's public half, or nil
	Chain   []byte          // the installed chain, or nil
	BootKey []byte          // the fused boot key hash, or nil
	EncKey  *keys.PublicKey // the image encryption key's public half, or nil
	Locked  bool
}

// Provisioning returns what the board holds, as a test rig inspects it.
func (b *Board) Provisioning() Provisioned {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := Provisioned{Chain: append([]byte(nil), b.prov.Chain...), BootKey: append([]byte(nil), b.prov.BootKey...), Locked: b.prov.Locked}
	if b.prov.idKey != nil {
		p.IDKey = b.prov.idKey.Public()
	}
	if b.prov.encKey != nil {
		p.EncKey = b.prov.encKey.Public()
	}
	return p
}

// encKeyLocked returns the image decryption key: the provisioned one, else
// the configured one.
func (b *Board) encKeyLocked() *keys.PrivateKey {
	if b.prov.encKey != nil {
		return b.prov.encKey
	}
	return b.cfg.EncKey
}

// bootKeyConfiguredLocked reports whether the bootloader checks
// signatures: boot keys are built in or a boot key hash is fused.
func (b *Board) bootKeyConfiguredLocked() bool {
	return len(b.cfg.BootKeys) > 0 || len(b.prov.BootKey) > 0
}

// trustedKeysLocked returns the keys the bootloader accepts img's
// signature from. With no hash fused, the built-in keys. With a hash
// fused, as MCUboot's hardware-key mode: the built-in keys whose hash is
// the fused one, and the image's own PUBKEY TLV key if its hash is.
func (b *Board) trustedKeysLocked(img *mcuimg.Image) ([]*keys.PublicKey, error) {
	fused := b.prov.BootKey
	if len(fused) == 0 {
		return b.cfg.BootKeys, nil
	}
	var out []*keys.PublicKey
	for _, k := range b.cfg.BootKeys {
		if sum := sha256.Sum256(k.SPKI()); bytes.Equal(sum[:], fused) {
			out = append(out, k)
		}
	}
	for _, t := range img.Unprotected.TLVs {
		if t.Type != mcuimg.TLVPubKey {
			continue
		}
		if sum := sha256.Sum256(t.Value); !bytes.Equal(sum[:], fused) {
			continue
		}
		if k, err := keys.ParseSPKI(t.Value); err == nil {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the image is not signed by the fused boot key %x…", fused[:8])
	}
	return out, nil
}

func provError(code int, rsn string) *smpError {
	return &smpError{group: provision.Group, code: code, rsn: rsn}
}

var errLocked = provError(provision.ErrCodeLocked, "the board is locked: provisioning writes are refused")

// writableLocked refuses provisioning writes once the board is locked.
func (b *Board) writableLocked() *smpError {
	if b.prov.Locked {
		return errLocked
	}
	return nil
}

// saveProvLocked persists the provisioning storage.
func (b *Board) saveProvLocked() *smpError {
	if err := b.prov.save(b.cfg.Provisioning.File); err != nil {
		b.logf("%v", err)
		return provError(provision.ErrCodeStorage, "writing the provisioning storage failed")
	}
	return nil
}

func (b *Board) provInfo(r request) (imap, func(), *smpError) {
	p := b.prov
	return imap{{"id", p.UID}, {"model", b.cfg.Provisioning.Model}, {"rev", b.cfg.Provisioning.Rev},
		{"idkey", p.idKey != nil}, {"chain", len(p.Chain) > 0}, {"bootkey", len(p.BootKey) > 0},
		{"enckey", p.encKey != nil}, {"locked", p.Locked}}, nil, nil
}

func (b *Board) provIDKeyRead(r request) (imap, func(), *smpError) {
	if b.prov.idKey == nil {
		return nil, nil, provError(provision.ErrCodeNotSet, "no identity key yet")
	}
	return imap{{"key", b.prov.idKey.Public().SPKI()}}, nil, nil
}

// provIDKeyWrite generates a new identity key, replacing the old one and
// dropping the chain that certified it.
func (b *Board) provIDKeyWrite(r request) (imap, func(), *smpError) {
	var req provision.KeyRequest
	if err := r.decode(&req); err != nil {
		return nil, nil, err
	}
	if err := b.writableLocked(); err != nil {
		return nil, nil, err
	}
	if req.Alg != "" && req.Alg != provision.AlgP256 {
		return nil, nil, provError(provision.ErrCodeBadAlgorithm, "identity keys are p256")
	}
	k, err := keys.Generate(b.cfg.Provisioning.Rand, keys.ECDSAP256)
	if err != nil {
		return nil, nil, provError(provision.ErrCodeUnknown, "key generation failed")
	}
	der, err := k.MarshalPKCS8()
	if err != nil {
		return nil, nil, provError(provision.ErrCodeUnknown, "key encoding failed")
	}
	old := *b.prov
	b.prov.IDKey, b.prov.idKey, b.prov.Chain, b.prov.upload = der, k, nil, nil
	if serr := b.saveProvLocked(); serr != nil {
		*b.prov = old
		return nil, nil, serr
	}
	b.logf("generated identity key %s", k.Public().Fingerprint())
	return imap{{"key", k.Public().SPKI()}}, nil, nil
}

// provCSR signs a PKCS#10 request for the subject asked for with the
// identity key. It changes nothing, so a locked board still answers.
func (b *Board) provCSR(r request) (imap, func(), *smpError) {
	var req provision.CSRRequest
	if err := r.decode(&req); err != nil {
		return nil, nil, err
	}
	if b.prov.idKey == nil {
		return nil, nil, provError(provision.ErrCodeNoIdentityKey, "generate the identity key first")
	}
	var name pki.Name
	for _, a := range req.Subject {
		name = append(name, pki.Attribute{Type: a[0], Value: a[1]})
	}
	raw, err := name.DER()
	if err != nil {
		return nil, nil, provError(provision.ErrCodeBadSubject, err.Error())
	}
	tmpl := &x509.CertificateRequest{RawSubject: raw}
	if req.URI != "" {
		u, err := url.Parse(req.URI)
		if err != nil || len(req.URI) > 256 {
			return nil, nil, provError(provision.ErrCodeBadSubject, "the URI does not parse")
		}
		tmpl.URIs = []*url.URL{u}
	}
	signer, _ := b.prov.idKey.Signer()
	der, err := x509.CreateCertificateRequest(b.cfg.Provisioning.Rand, tmpl, signer)
	if err != nil {
		return nil, nil, provError(provision.ErrCodeBadSubject, err.Error())
	}
	return imap{{"csr", der}}, nil, nil
}

// provChainWrite takes one chunk of a chain upload; with the last one it
// checks the chain and installs it.
func (b *Board) provChainWrite(r request) (imap, func(), *smpError) {
	var req provision.ChainChunk
	if err := r.decode(&req); err != nil {
		return nil, nil, err
	}
	if err := b.writableLocked(); err != nil {
		return nil, nil, err
	}
	p := b.prov
	if p.idKey == nil {
		return nil, nil, provError(provision.ErrCodeNoIdentityKey, "generate the identity key first")
	}
	if req.Off == 0 {
		if req.Len == nil || *req.Len == 0 {
			return nil, nil, provError(provision.ErrCodeBadOffset, "the first chunk carries the chain's length")
		}
		if *req.Len > provision.MaxChainLen {
			return nil, nil, provError(provision.ErrCodeTooLarge, fmt.Sprintf("at most %d bytes", provision.MaxChainLen))
		}
		p.upload, p.upLen = make([]byte, 0, *req.Len), int(*req.Len)
	}
	if p.upload == nil || req.Off != uint64(len(p.upload)) {
		return imap{{"off", len(p.upload)}}, nil, nil
	}
	if len(p.upload)+len(req.Data) > p.upLen {
		p.upload = nil
		return nil, nil, provError(provision.ErrCodeTooLarge, "more data than the announced length")
	}
	p.upload = append(p.upload, req.Data...)
	if len(p.upload) < p.upLen {
		return imap{{"off", len(p.upload)}}, nil, nil
	}
	chain := p.upload
	p.upload = nil
	if serr := b.checkChainLocked(chain); serr != nil {
		return nil, nil, serr
	}
	old := p.Chain
	p.Chain = chain
	if serr := b.saveProvLocked(); serr != nil {
		p.Chain = old
		return nil, nil, serr
	}
	b.logf("installed a %d-byte certificate chain", len(chain))
	return imap{{"off", len(chain)}}, nil, nil
}

// checkChainLocked checks a complete chain as the protocol asks: 2 to 4
// certificates, the first for the identity key, each signed by the next.
func (b *Board) checkChainLocked(chain []byte) *smpError {
	c, err := pki.ParseChain(chain)
	if err != nil || len(c) < 2 || len(c) > 4 {
		return provError(provision.ErrCodeChainInvalid, "the chain is not 2 to 4 DER certificates")
	}
	leaf, ok := c[0].PublicKey.(*ecdsa.PublicKey)
	if !ok || !leaf.Equal(b.prov.idKey.Public().Crypto()) {
		return provError(provision.ErrCodeChainKeyMismatch, "the first certificate is not for this board's identity key")
	}
	for i := 0; i+1 < len(c); i++ {
		if err := c[i].CheckSignatureFrom(c[i+1]); err != nil {
			return provError(provision.ErrCodeChainInvalid, fmt.Sprintf("certificate %d is not signed by the next", i+1))
		}
	}
	return nil
}

// maxChainChunk is the chain bytes one read answer carries.
const maxChainChunk = 512

func (b *Board) provChainRead(r request) (imap, func(), *smpError) {
	var req provision.ChainReadRequest
	if err := r.decode(&req); err != nil {
		return nil, nil, err
	}
	chain := b.prov.Chain
	if len(chain) == 0 {
		return nil, nil, provError(provision.ErrCodeNotSet, "no chain installed")
	}
	if req.Off > uint64(len(chain)) {
		return nil, nil, provError(provision.ErrCodeBadOffset, "past the end of the chain")
	}
	end := min(int(req.Off)+maxChainChunk, len(chain))
	return imap{{"off", req.Off}, {"len", len(chain)}, {"data", chain[req.Off:end]}}, nil, nil
}

// provBootKeyWrite fuses the boot key hash, once.
func (b *Board) provBootKeyWrite(r request) (imap, func(), *smpError) {
	var req provision.BootKeyMessage
	if err := r.decode(&req); err != nil {
		return nil, nil, err
	}
	if err := b.writableLocked(); err != nil {
		return nil, nil, err
	}
	if len(req.Hash) != provision.BootKeyHashLen {
		return nil, nil, rcError(smp.RCInvalid)
	}
	switch {
	case bytes.Equal(b.prov.BootKey, req.Hash):
		return imap{}, nil, nil
	case len(b.prov.BootKey) > 0:
		return nil, nil, provError(provision.ErrCodeAlreadySet, "another boot key hash is fused")
	}
	b.prov.BootKey = append([]byte(nil), req.Hash...)
	if serr := b.saveProvLocked(); serr != nil {
		b.prov.BootKey = nil
		return nil, nil, serr
	}
	b.logf("fused boot key hash %x", req.Hash)
	return imap{}, nil, nil
}

func (b *Board) provBootKeyRead(r request) (imap, func(), *smpError) {
	if len(b.prov.BootKey) == 0 {
		return nil, nil, provError(provision.ErrCodeNotSet, "no boot key hash fused")
	}
	return imap{{"hash", b.prov.BootKey}}, nil, nil
}

// provEncKeyWrite generates the image encryption key unless the board has
// one, and answers its public half.
func (b *Board) provEncKeyWrite(r request) (imap, func(), *smpError) {
	var req provision.KeyRequest
	if err := r.decode(&req); err != nil {
		return nil, nil, err
	}
	if err := b.writableLocked(); err != nil {
		return nil, nil, err
	}
	if req.Alg != "" && req.Alg != provision.AlgX25519 {
		return nil, nil, provError(provision.ErrCodeBadAlgorithm, "encryption keys are x25519")
	}
	if b.prov.encKey == nil {
		k, err := keys.Generate(b.cfg.Provisioning.Rand, keys.X25519)
		if err != nil {
			return nil, nil, provError(provision.ErrCodeUnknown, "key generation failed")
		}
		der, err := k.MarshalPKCS8()
		if err != nil {
			return nil, nil, provError(provision.ErrCodeUnknown, "key encoding failed")
		}
		b.prov.EncKey, b.prov.encKey = der, k
		if serr := b.saveProvLocked(); serr != nil {
			b.prov.EncKey, b.prov.encKey = nil, nil
			return nil, nil, serr
		}
		b.logf("generated image encryption key %s", k.Public().Fingerprint())
	}
	return imap{{"key", b.prov.encKey.Public().SPKI()}}, nil, nil
}

func (b *Board) provEncKeyRead(r request) (imap, func(), *smpError) {
	if b.prov.encKey == nil {
		return nil, nil, provError(provision.ErrCodeNotSet, "no encryption key yet")
	}
	return imap{{"key", b.prov.encKey.Public().SPKI()}}, nil, nil
}

// provLock locks the board, when the request names it.
func (b *Board) provLock(r request) (imap, func(), *smpError) {
	var req provision.LockRequest
	if err := r.decode(&req); err != nil {
		return nil, nil, err
	}
	if err := b.writableLocked(); err != nil {
		return nil, nil, err
	}
	if !bytes.Equal(req.ID, b.prov.UID) {
		return nil, nil, provError(provision.ErrCodeWrongDevice, fmt.Sprintf("this board is %x", b.prov.UID))
	}
	b.prov.Locked = true
	if serr := b.saveProvLocked(); serr != nil {
		b.prov.Locked = false
		return nil, nil, serr
	}
	b.logf("locked")
	return imap{}, nil, nil
}

// provisionRoutes are the provisioning group's commands.
var provisionRoutes = map[route]handler{
	{provision.Group, provision.CmdInfo, smp.OpRead}:     (*Board).provInfo,
	{provision.Group, provision.CmdIDKey, smp.OpRead}:    (*Board).provIDKeyRead,
	{provision.Group, provision.CmdIDKey, smp.OpWrite}:   (*Board).provIDKeyWrite,
	{provision.Group, provision.CmdCSR, smp.OpRead}:      (*Board).provCSR,
	{provision.Group, provision.CmdChain, smp.OpWrite}:   (*Board).provChainWrite,
	{provision.Group, provision.CmdChain, smp.OpRead}:    (*Board).provChainRead,
	{provision.Group, provision.CmdBootKey, smp.OpWrite}: (*Board).provBootKeyWrite,
	{provision.Group, provision.CmdBootKey, smp.OpRead}:  (*Board).provBootKeyRead,
	{provision.Group, provision.CmdEncKey, smp.OpWrite}:  (*Board).provEncKeyWrite,
	{provision.Group, provision.CmdEncKey, smp.OpRead}:   (*Board).provEncKeyRead,
	{provision.Group, provision.CmdLock, smp.OpWrite}:    (*Board).provLock,
}
