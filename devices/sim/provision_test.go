package sim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
	"trustforge/crypto/pki"
	"trustforge/devices/provision"
	"trustforge/devices/smp"
)

// testChain certifies key as device id with a fresh root and intermediate.
func testChain(t testing.TB, key *keys.PublicKey, id string) pki.Chain {
	t.Helper()
	rk, _ := keys.Generate(nil, keys.ECDSAP256)
	ik, _ := keys.Generate(nil, keys.ECDSAP256)
	root, err := pki.NewRoot(rand.Reader, rk, pki.RootOptions{Organization: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	inter, err := pki.NewIntermediate(rand.Reader, root, ik, pki.IntermediateOptions{Product: "thermo"})
	if err != nil {
		t.Fatal(err)
	}
	subj, err := pki.Template{}.Render(pki.Name{{Type: "O", Value: "Acme"}, {Type: "OU", Value: "thermo"}}, "thermo", id)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := pki.NewSerial(nil)
	cert, err := pki.Issue(rand.Reader, inter, pki.DeviceCert{Subject: subj, Key: key, Serial: serial})
	if err != nil {
		t.Fatal(err)
	}
	return pki.Chain{cert, inter.Cert, root.Cert}
}

func provRead(t *testing.T, c *smp.Client, id uint8, body, resp any) error {
	t.Helper()
	return c.Do(context.Background(), smp.Request{Op: smp.OpRead, Group: provision.Group, ID: id, Body: body, Idempotent: true}, resp)
}

func provWrite(t *testing.T, c *smp.Client, id uint8, body, resp any) error {
	t.Helper()
	return c.Do(context.Background(), smp.Request{Op: smp.OpWrite, Group: provision.Group, ID: id, Body: body}, resp)
}

// groupCode returns the provisioning error code (v2) or rc (v1) of err.
func groupCode(err error) (int, bool) {
	var pe *provision.Error
	if errors.As(err, &pe) {
		return pe.Code, pe.Code != 0
	}
	var e *smp.Error
	if !errors.As(err, &e) {
		return 0, false
	}
	return e.Code, e.GroupError
}

func TestProvisioningGroup(t *testing.T) {
	uid := []byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4}
	b := newBoard(t, Config{Provisioning: ProvisionConfig{UID: uid}})

	var info provision.InfoResponse
	wantCode := func(name string, err error, code int) {
		t.Helper()
		if got, group := groupCode(err); !group || got != code {
			t.Errorf("%s: %v, want group error %s", name, err, provision.CodeName(code))
		}
	}
	c := connect(t, b, &smp.Options{Timeout: 10 * time.Second, V2: true})
	if err := provRead(t, c, provision.CmdInfo, nil, &info); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(info.ID, uid) || info.Model != DefaultModel || info.IDKey || info.Chain || info.Locked {
		t.Errorf("blank board info %+v", info)
	}
	var csr provision.CSRResponse
	subject := provision.CSRRequest{Subject: [][2]string{{"O", "Acme"}, {"OU", "thermo"}, {"CN", "thermo-deadbeef01020304"}},
		URI: "urn:dev:ops:32473-thermo-deadbeef01020304"}
	wantCode("CSR before a key", provRead(t, c, provision.CmdCSR, subject, &csr), provision.ErrCodeNoIdentityKey)
	wantCode("chain before a key", provWrite(t, c, provision.CmdChain, provision.ChainChunk{Data: []byte{1}, Len: new(uint64(1))}, nil), provision.ErrCodeNoIdentityKey)

	var kr provision.KeyResponse
	if err := provWrite(t, c, provision.CmdIDKey, provision.KeyRequest{Alg: "p256"}, &kr); err != nil {
		t.Fatal(err)
	}
	idKey, err := keys.ParseSPKI(kr.Key)
	if err != nil || idKey.Algorithm() != keys.ECDSAP256 {
		t.Fatalf("identity key %v, %v", idKey, err)
	}
	wantCode("an RSA identity key", provWrite(t, c, provision.CmdIDKey, provision.KeyRequest{Alg: "rsa"}, &kr), provision.ErrCodeBadAlgorithm)
	if err := provRead(t, c, provision.CmdCSR, subject, &csr); err != nil {
		t.Fatal(err)
	}
	req, err := x509.ParseCertificateRequest(csr.CSR)
	if err != nil || req.CheckSignature() != nil || req.Subject.CommonName != "thermo-deadbeef01020304" || len(req.URIs) != 1 {
		t.Fatalf("CSR %+v, %v", req, err)
	}
	wantCode("a subject with an unknown attribute", provRead(t, c, provision.CmdCSR,
		provision.CSRRequest{Subject: [][2]string{{"XX", "y"}}}, &csr), provision.ErrCodeBadSubject)

	upload := func(chain []byte) error {
		return provision.NewClient(c).InstallChain(context.Background(), chain)
	}
	other, _ := keys.Generate(nil, keys.ECDSAP256)
	good := testChain(t, idKey, "deadbeef01020304")
	wantCode("a chain for another key", upload(testChain(t, other.Public(), "deadbeef01020304").DER()), provision.ErrCodeChainKeyMismatch)
	wantCode("a chain that does not link", upload(append(append([]byte(nil), good[0].Raw...), testChain(t, idKey, "abcd")[1].Raw...)), provision.ErrCodeChainInvalid)
	wantCode("garbage", upload([]byte("not a certificate")), provision.ErrCodeChainInvalid)
	wantCode("too large", provWrite(t, c, provision.CmdChain, provision.ChainChunk{Data: []byte{1}, Len: new(uint64(provision.MaxChainLen + 1))}, nil), provision.ErrCodeTooLarge)
	if p := b.Provisioning(); p.Chain != nil {
		t.Fatal("a refused chain was stored")
	}
	if err := upload(good.DER()); err != nil {
		t.Fatal(err)
	}
	back, err := provision.NewClient(c).Chain(context.Background())
	if err != nil || !bytes.Equal(back, good.DER()) {
		t.Fatalf("chain read back: %v", err)
	}

	hash := sha256.Sum256([]byte("boot key"))
	other2 := sha256.Sum256([]byte("another boot key"))
	if err := provWrite(t, c, provision.CmdBootKey, provision.BootKeyMessage{Hash: hash[:]}, nil); err != nil {
		t.Fatal(err)
	}
	if err := provWrite(t, c, provision.CmdBootKey, provision.BootKeyMessage{Hash: hash[:]}, nil); err != nil {
		t.Errorf("fusing the same hash again: %v", err)
	}
	wantCode("fusing another hash", provWrite(t, c, provision.CmdBootKey, provision.BootKeyMessage{Hash: other2[:]}, nil), provision.ErrCodeAlreadySet)
	var enc1, enc2 provision.KeyResponse
	wantCode("reading the encryption key before it exists", provRead(t, c, provision.CmdEncKey, nil, &enc1), provision.ErrCodeNotSet)
	if err := provWrite(t, c, provision.CmdEncKey, provision.KeyRequest{}, &enc1); err != nil {
		t.Fatal(err)
	}
	if err := provWrite(t, c, provision.CmdEncKey, provision.KeyRequest{}, &enc2); err != nil || !bytes.Equal(enc1.Key, enc2.Key) {
		t.Errorf("a second encryption key request gave another key: %v", err)
	}
	wantCode("locking another board", provWrite(t, c, provision.CmdLock, provision.LockRequest{ID: []byte{1}}, nil), provision.ErrCodeWrongDevice)
	if err := provWrite(t, c, provision.CmdLock, provision.LockRequest{ID: uid}, nil); err != nil {
		t.Fatal(err)
	}

	before := b.Provisioning()
	writes := []struct {
		name string
		id   uint8
		body any
	}{
		{"identity key", provision.CmdIDKey, provision.KeyRequest{}},
		{"chain", provision.CmdChain, provision.ChainChunk{Data: []byte{1}, Len: new(uint64(1))}},
		{"boot key", provision.CmdBootKey, provision.BootKeyMessage{Hash: other2[:]}},
		{"encryption key", provision.CmdEncKey, provision.KeyRequest{}},
		{"lock", provision.CmdLock, provision.LockRequest{ID: uid}},
	}
	for _, w := range writes {
		wantCode(w.name+" on a locked board (v2)", provWrite(t, c, w.id, w.body, nil), provision.ErrCodeLocked)
	}
	c1 := connect(t, b, nil) // version 1; it takes the board over from c
	for _, w := range writes {
		err := provWrite(t, c1, w.id, w.body, nil)
		if !smp.IsRC(err, smp.RCAccessDenied) || !errors.Is(providerErr(err), provision.ErrLocked) {
			t.Errorf("%s on a locked board (v1): %v, want rc 11 (access denied)", w.name, err)
		}
	}
	after := b.Provisioning()
	if !after.IDKey.Equal(before.IDKey) || !bytes.Equal(after.Chain, before.Chain) || !bytes.Equal(after.BootKey, hash[:]) || !after.EncKey.Equal(before.EncKey) || !after.Locked {
		t.Error("writes to a locked board changed it")
	}
	if err := provRead(t, c1, provision.CmdCSR, subject, &csr); err != nil {
		t.Errorf("a locked board should still prove its identity: %v", err)
	}
}

// providerErr translates err as the provisioning client does.
func providerErr(err error) error {
	var e *smp.Error
	if errors.As(err, &e) {
		return &provision.Error{Cmd: e.Cmd, RC: smp.RC(e.Code), Reason: e.Reason}
	}
	return err
}

func TestProvisioningPersists(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{FlashFile: filepath.Join(dir, "flash.bin"), Provisioning: ProvisionConfig{File: filepath.Join(dir, "prov.json")}}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	uid := b.UID()
	c := connect(t, b, nil)
	var kr provision.KeyResponse
	if err := provWrite(t, c, provision.CmdIDKey, provision.KeyRequest{}, &kr); err != nil {
		t.Fatal(err)
	}
	if err := provWrite(t, c, provision.CmdLock, provision.LockRequest{ID: uid}, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Inject(Fault{Kind: CutPower}); err != nil {
		t.Fatal(err)
	}
	b.PowerOn()
	if p := b.Provisioning(); !p.Locked || p.IDKey == nil {
		t.Errorf("after a power cycle: %+v", p)
	}
	b.Close()
	b2 := newBoard(t, cfg)
	p := b2.Provisioning()
	if !bytes.Equal(b2.UID(), uid) || !p.Locked || p.IDKey == nil || !bytes.Equal(p.IDKey.SPKI(), kr.Key) {
		t.Errorf("after a restart: uid %x (was %x), %+v", b2.UID(), uid, p)
	}
	cfg.Provisioning.UID = []byte{9}
	if _, err := New(cfg); err == nil {
		t.Error("a board opened another board's provisioning file")
	}
}

// TestFusedBootKey: once a boot key hash is fused, only images signed by
// that key boot.
func TestFusedBootKey(t *testing.T) {
	signer := privKey(t, "ed25519.pem")
	otherSigner := privKey(t, "ecdsa-p256.pem")
	hash := sha256.Sum256(signer.Public().SPKI())
	image := func(key *keys.PrivateKey, format mcuimg.KeyFormat, version string) []byte {
		v, _ := mcuimg.ParseVersion(version)
		img, err := mcuimg.Sign(bytes.Repeat([]byte{0x5a}, 4096), &mcuimg.SignOptions{Key: key, Version: v, HeaderSize: 0x200,
			PadHeader: true, Align: 8, PublicKeyFormat: format})
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	tests := []struct {
		name     string
		builtin  []*keys.PublicKey
		img      []byte
		wantBoot bool
	}{
		{"signed by the fused key, full key in the image", nil, image(signer, mcuimg.KeyFormatFull, "1.0.0"), true},
		{"signed by another key, full key in the image", nil, image(otherSigner, mcuimg.KeyFormatFull, "1.0.0"), false},
		{"signed by the fused key, key hash only, not built in", nil, image(signer, mcuimg.KeyFormatHash, "1.0.0"), false},
		{"signed by the fused key, key hash only, built in", []*keys.PublicKey{signer.Public(), otherSigner.Public()}, image(signer, mcuimg.KeyFormatHash, "1.0.0"), true},
		{"signed by a built-in key that is not the fused one", []*keys.PublicKey{signer.Public(), otherSigner.Public()}, image(otherSigner, mcuimg.KeyFormatHash, "1.0.0"), false},
		{"not signed", nil, makeImage(t, imageSpec{version: "1.0.0"}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBoard(t, Config{BootKeys: tt.builtin})
			c := connect(t, b, nil)
			if err := provWrite(t, c, provision.CmdBootKey, provision.BootKeyMessage{Hash: hash[:]}, nil); err != nil {
				t.Fatal(err)
			}
			if err := b.Program(tt.img); err != nil {
				t.Fatal(err)
			}
			if r := b.Running(); r.Recovery == tt.wantBoot {
				t.Errorf("recovery %v, want boot %v; boot log:\n%s", r.Recovery, tt.wantBoot, bytes.Join(toBytes(b.BootLog()), []byte("\n")))
			}
		})
	}
}

func toBytes(lines []string) [][]byte {
	out := make([][]byte, len(lines))
	for i, l := range lines {
		out[i] = []byte(l)
	}
	return out
}

// TestProvisionedEncryptionKey: an image encrypted to the key the board
// generated is decrypted when it is swapped in.
func TestProvisionedEncryptionKey(t *testing.T) {
	b := newBoard(t, Config{})
	c := connect(t, b, nil)
	var kr provision.KeyResponse
	if err := provWrite(t, c, provision.CmdEncKey, provision.KeyRequest{}, &kr); err != nil {
		t.Fatal(err)
	}
	pub, err := keys.ParseSPKI(kr.Key)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Program(makeImage(t, imageSpec{version: "1.0.0"})); err != nil {
		t.Fatal(err)
	}
	v, _ := mcuimg.ParseVersion("1.1.0")
	img, err := mcuimg.Sign(bytes.Repeat([]byte{7}, 5000), &mcuimg.SignOptions{Key: privKey(t, "ed25519.pem"), Version: v,
		HeaderSize: 0x200, PadHeader: true, Align: 8, EncryptTo: pub})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Upload(ctx, img, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TestImage(ctx, imageHash(t, img)); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if r := waitRunning(t, b, 3); r.Recovery || versionString(r.Version) != "1.1.0" {
		t.Errorf("after the swap the board runs %+v; boot log %q", r, b.BootLog())
	}
}
