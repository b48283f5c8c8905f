package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/chromedp/chromedp"

	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
	"trustforge/crypto/pki"
	"trustforge/devices/provision"
	"trustforge/devices/sim"
	"trustforge/devices/smp"
	"trustforge/e2e/driver"
)

// identityBaud is the line speed of the provisioning tests' boards.
const identityBaud = 1_000_000

// Passphrases of the identity tests.
const (
	identityVaultPass = "identity vault passphrase"
	caBackupPass      = "ca backup passphrase"
)

// idBoard is a simulated board for provisioning, with its provisioning
// storage in a file the test reads (its private keys included: the sim is
// the only place they exist).
type idBoard struct {
	*sim.Board
	file string
}

// identityBoards makes one simulated board per uid, running a factory
// image signed by bootKey, and offers them to the tab of ctx as granted
// ports board-1, board-2, … through the Web Serial shim.
func identityBoards(tb testing.TB, ctx context.Context, bootKey *keys.PrivateKey, uids ...[]byte) []*idBoard {
	tb.Helper()
	var out []*idBoard
	var ports []driver.ShimPort
	for i, uid := range uids {
		file := filepath.Join(tb.TempDir(), "provisioning.json")
		b, err := sim.New(sim.Config{SlotSize: 256 << 10, Baud: identityBaud, BootKeys: []*keys.PublicKey{bootKey.Public()},
			Provisioning: sim.ProvisionConfig{UID: uid, Model: "thermo-board", Rev: "B", File: file}})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { b.Close() })
		if err := b.Program(fullKeyImage(tb, "1.0.0", bootKey)); err != nil {
			tb.Fatal(err)
		}
		out = append(out, &idBoard{Board: b, file: file})
		ports = append(ports, driver.ShimPort{ID: "board-" + strconv.Itoa(i+1), VendorID: 0x2fe3, ProductID: 0x0100,
			Baud: identityBaud, Granted: true, Device: b})
	}
	if _, err := driver.InstallSerialShim(ctx, "", ports...); err != nil {
		tb.Fatal(err)
	}
	return out
}

// fullKeyImage signs an image carrying its whole public key (PUBKEY TLV),
// as boards with a fused key hash (MCUboot's hardware-key mode) need.
func fullKeyImage(tb testing.TB, v string, key *keys.PrivateKey) []byte {
	tb.Helper()
	ver, _ := mcuimg.ParseVersion(v)
	payload := make([]byte, 8<<10)
	rand.Read(payload)
	img, err := mcuimg.Sign(payload, &mcuimg.SignOptions{Key: key, Version: ver, HeaderSize: 0x200, PadHeader: true,
		PublicKeyFormat: mcuimg.KeyFormatFull})
	if err != nil {
		tb.Fatal(err)
	}
	return img
}

// privateKeys returns the private keys the board generated, from its
// provisioning storage.
func (b *idBoard) privateKeys(tb testing.TB) (idKey, encKey []byte) {
	tb.Helper()
	raw, err := os.ReadFile(b.file)
	if err != nil {
		tb.Fatal(err)
	}
	var st struct{ IDKey, EncKey []byte }
	if err := json.Unmarshal(raw, &st); err != nil {
		tb.Fatal(err)
	}
	return st.IDKey, st.EncKey
}

// smpClient attaches a Go SMP client to the board, taking it over from
// the page, as a rig probing the board does.
func (b *idBoard) smpClient(tb testing.TB) *smp.Client {
	tb.Helper()
	host, dev := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.Serve(ctx, dev); dev.Close(); close(done) }()
	c := smp.NewClient(smp.FromStream(host), &smp.Options{Timeout: 5 * time.Second})
	tb.Cleanup(func() { c.Close(); cancel(); <-done })
	return c
}

// caKeysFromBackup opens a CA backup with age and returns its CA keys' PEM.
func caKeysFromBackup(tb testing.TB, backup []byte) [][]byte {
	tb.Helper()
	id, _ := age.NewScryptIdentity(caBackupPass)
	r, err := age.Decrypt(bytes.NewReader(backup), id)
	if err != nil {
		tb.Fatalf("the CA backup does not open with age: %v", err)
	}
	plain, _ := io.ReadAll(r)
	var doc struct {
		CAs []struct {
			Kind string `json:"kind"`
			Key  string `json:"key"`
		} `json:"cas"`
	}
	if err := json.Unmarshal(plain, &doc); err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, c := range doc.CAs {
		out = append(out, []byte(c.Key))
	}
	return out
}

// TestProvisionBoard provisions a simulated board end to end in the
// console through the Web Serial shim, then checks the chain with OpenSSL,
// the board's refusals once locked, its bootloader's refusal of images
// signed by another key, the refusal of a clone, and that no private key
// left the browser or the boards.
func TestProvisionBoard(t *testing.T) {
	product := env.accounts.newProduct(t)
	ctx, _ := newTab(t)
	nlog := recordRequests(t, ctx)
	bootKey, err := keys.Generate(nil, keys.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	uid := []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb}
	boards := identityBoards(t, ctx, bootKey, uid, uid) // board-2 is a clone of board-1
	board, clone := boards[0], boards[1]
	deviceID := hex.EncodeToString(uid)

	dl := catchDownloads(t, ctx)
	caBackup := setUpIdentity(t, ctx, dl, product, bootKey)

	// Provision board-1 at 1 Mbaud.
	waitFor(t, ctx, "#serial-baud")
	connectPort(t, ctx, 0)
	choose(t, ctx, "provision-product", product)
	provisionRun(t, ctx, 1)
	if msg := textOfAny(t, ctx, "provision-error"); msg != "" {
		t.Fatalf("provisioning failed: %s", msg)
	}
	for _, st := range provision.Steps() {
		if got := attr(t, ctx, "#provision-step-"+string(st), "data-status"); got != "done" {
			t.Errorf("step %s: %s", st, got)
		}
	}
	if got := attr(t, ctx, "#provision-result", "data-device"); got != deviceID {
		t.Errorf("provisioned device %q, want %q", got, deviceID)
	}
	consoleMS, _ := strconv.ParseFloat(attr(t, ctx, "#provision-result", "data-console-ms"), 64)
	boardMS, _ := strconv.ParseFloat(attr(t, ctx, "#provision-result", "data-board-ms"), 64)
	t.Logf("provisioning at %d baud: board and link %.1f ms, console (WASM) %.1f ms", identityBaud, boardMS, consoleMS)

	// The board holds a chain OpenSSL verifies, the fused key and a lock.
	p := board.Provisioning()
	if !p.Locked || !bytes.Equal(p.BootKey, provision.BootKeyHashOf(bootKey.Public())) || p.EncKey == nil {
		t.Fatalf("the board holds %+v", p)
	}
	chain, err := pki.ParseChain(p.Chain)
	if err != nil || len(chain) != 3 {
		t.Fatalf("the board's chain: %v", err)
	}
	opensslVerify(t, chain)

	// The registry has the board's certificate and public encryption key,
	// for the Releases page to encrypt to.
	dev, err := env.accounts.admin.Device(context.Background(), deviceID)
	if err != nil {
		t.Fatal(err)
	}
	if k, err := dev.PublicEncryptionKey(); err != nil || !k.Equal(p.EncKey) || dev.Operator != engineerName || dev.Product != product {
		t.Errorf("registry record %+v (%v)", dev, err)
	}

	// A second provisioning of the locked board is refused in the console…
	provisionRun(t, ctx, 2)
	hasText(t, ctx, "provision-error", "locked")

	// The clone: board-2 reports the same id.
	connectPort(t, ctx, 1)
	provisionRun(t, ctx, 3)
	hasText(t, ctx, "provision-error", "clone")
	if cp := clone.Provisioning(); cp.IDKey != nil || cp.Chain != nil || cp.Locked {
		t.Errorf("the clone was written: %+v", cp)
	}

	// The board itself refuses every provisioning write.
	c := board.smpClient(t)
	pc := provision.NewClient(c)
	bg := context.Background()
	if _, err := pc.GenerateIdentityKey(bg); !errors.Is(err, provision.ErrLocked) {
		t.Errorf("identity key on a locked board: %v", err)
	}
	if err := pc.InstallChain(bg, p.Chain); !errors.Is(err, provision.ErrLocked) {
		t.Errorf("chain on a locked board: %v", err)
	}
	if err := pc.FuseBootKey(bg, make([]byte, 32)); !errors.Is(err, provision.ErrLocked) {
		t.Errorf("boot key on a locked board: %v", err)
	}
	if after := board.Provisioning(); !after.IDKey.Equal(p.IDKey) || !bytes.Equal(after.Chain, p.Chain) {
		t.Error("writes to the locked board changed it")
	}

	// The bootloader boots only images signed by the fused key.
	otherKey, _ := keys.Generate(nil, keys.Ed25519)
	for _, tt := range []struct {
		key      *keys.PrivateKey
		version  string
		wantBoot bool
	}{{otherKey, "2.0.0", false}, {bootKey, "1.1.0", true}} {
		img := fullKeyImage(t, tt.version, tt.key)
		if _, err := c.Upload(bg, img, nil); err != nil {
			t.Fatal(err)
		}
		p, _ := mcuimg.Parse(img)
		_, hash, _ := p.Hash()
		if _, err := c.TestImage(bg, hash); err != nil {
			t.Fatal(err)
		}
		boots := board.Running().Boots
		board.Reset()
		eventually(t, ctx, "the board to boot again", func() bool { r := board.Running(); return r.Boots > boots && board.Powered() })
		r := board.Running()
		booted := r.Version.Major == mustVersion(tt.version).Major && r.Version.Minor == mustVersion(tt.version).Minor
		if booted != tt.wantBoot || r.Recovery {
			t.Errorf("image %s signed by %s: booted %v (runs %v, recovery %v), want %v; boot log %q",
				tt.version, tt.key.Public().Fingerprint(), booted, r.Version, r.Recovery, tt.wantBoot, board.BootLog())
		}
	}

	// The board is compromised: revoke it from the registry panel, which
	// revokes it in the CA's ledger and publishes the new CRL.
	typeInto(t, ctx, "registry-query", deviceID)
	click(t, ctx, "registry-search")
	waitFor(t, ctx, "#revoke-"+deviceID)
	click(t, ctx, "revoke-"+deviceID)
	waitFor(t, ctx, "#registry-message, #registry-error")
	if msg := textOfAny(t, ctx, "registry-error"); msg != "" {
		t.Fatalf("revoking: %s", msg)
	}
	hasText(t, ctx, "registry-message", "published the new revocation list")
	dev, err = env.accounts.admin.Device(context.Background(), deviceID)
	if err != nil || dev.Revoked == nil || dev.Revoked.Reason != "keyCompromise" {
		t.Errorf("the registry after revocation: %+v, %v", dev.Revoked, err)
	}
	_, crlDER, err := rawJSON(context.Background(), env.server.URL, "GET", "/api/crls/"+dev.Issuer+".crl", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := pki.ParseCRL(crlDER, chain[1])
	if err != nil || len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(chain[0].SerialNumber) != 0 {
		t.Errorf("the published CRL: %v", err)
	}

	// No private key left the browser or the board.
	idKey, encKey := board.privateKeys(t)
	secrets := []secret{
		newSecret("the board's identity key (PKCS#8)", idKey),
		newSecret("the board's encryption key (PKCS#8)", encKey),
		newSecret("the board's identity key scalar", idKey[len(idKey)-32:]),
		newSecret("the board's encryption key scalar", encKey[len(encKey)-32:]),
		newSecret("the vault passphrase", []byte(identityVaultPass)),
		newSecret("the CA backup passphrase", []byte(caBackupPass)),
		newSecret("an age identity", []byte("AGE-SECRET-KEY-1")),
		newSecret("a PEM private key", []byte("PRIVATE KEY-----")),
	}
	for i, pemKey := range caKeysFromBackup(t, caBackup) {
		k, err := keys.ParsePrivateKey(pemKey)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := k.MarshalPKCS8()
		secrets = append(secrets, newSecret("CA key "+strconv.Itoa(i)+" (PKCS#8)", der), newSecret("CA key "+strconv.Itoa(i)+" scalar", der[len(der)-32:]))
	}
	seed := bootKey.Crypto().(interface{ Seed() []byte }).Seed()
	secrets = append(secrets, newSecret("the boot signing key's seed", seed))
	registered := false
	for _, r := range nlog.requests(t) {
		if r.method == "POST" && strings.HasSuffix(r.url, "/api/devices") {
			registered = true
		}
	}
	if !registered {
		t.Error("the recorder saw no registration: it missed the requests")
	}
	if n := nlog.checkNoSecrets(t, secrets); n < 2 {
		t.Errorf("only %d request bodies recorded", n)
	}
}

// setUpIdentity signs the engineer in, makes a vault holding the image
// signing key bootKey, and on the Identity page creates the root CA, the
// product's intermediate, a CA backup (returned) and the product's profile
// fusing bootKey.
func setUpIdentity(tb testing.TB, ctx context.Context, dl *downloads, product string, bootKey *keys.PrivateKey) []byte {
	tb.Helper()
	// The engineer's browser: a vault holding the image signing key.
	signIn(tb, ctx, engineerName, engineerPass)
	createVault(tb, ctx, identityVaultPass)
	bootPEM, _ := bootKey.MarshalPEM()
	setFile(tb, ctx, "import-file", writeFile(tb, "boot-signing.pem", bootPEM))
	keyRow := `tr[data-testid="key-row"][data-algorithm="ed25519"]`
	waitFor(tb, ctx, keyRow)
	bootKeyID := attr(tb, ctx, keyRow, "data-key-id")

	// The CA: root, the product's intermediate, a backup, the profile.
	goTo(tb, ctx, "identity")
	typeInto(tb, ctx, "ca-org", "Acme Devices")
	click(tb, ctx, "ca-create-root")
	waitFor(tb, ctx, "#ca-root")
	typeInto(tb, ctx, "ca-product", product)
	click(tb, ctx, "ca-add-intermediate")
	waitFor(tb, ctx, "#ca-intermediate-"+product)
	// Making the product's CA registered its root as the product's trust
	// anchor on the server (the engineer's decision, audited there).
	waitFor(tb, ctx, fmt.Sprintf(`tr[data-testid="anchor-row"][data-product=%q][data-state="trusted"]`, product))
	typeInto(tb, ctx, "ca-backup-pass", caBackupPass)
	click(tb, ctx, "ca-backup")
	name, caBackup := dl.next(tb, ctx)
	if !strings.HasSuffix(name, ".age") {
		tb.Errorf("CA backup saved as %q", name)
	}
	choose(tb, ctx, "profile-product", product)
	choose(tb, ctx, "profile-bootkey", bootKeyID)
	click(tb, ctx, "profile-save")
	waitFor(tb, ctx, "#profile-message")
	return caBackup
}

// connectPort connects the Identity page to granted port number i at the
// boards' speed, disconnecting any board first.
func connectPort(tb testing.TB, ctx context.Context, i int) {
	tb.Helper()
	if attr(tb, ctx, "#link-status", "data-state") == "connected" {
		click(tb, ctx, "link-disconnect")
	}
	port := fmt.Sprintf("port-%d", i)
	waitFor(tb, ctx, "#"+port+":not([disabled])")
	choose(tb, ctx, "serial-baud", strconv.Itoa(identityBaud))
	click(tb, ctx, port)
	// Polled: the status element is re-rendered as the link goes from idle
	// through connecting, and a wait on the first node found can miss it.
	eventually(tb, ctx, "port "+port+" to connect", func() bool {
		return attr(tb, ctx, "#link-status", "data-state") == "connected"
	})
}

// provisionRun clicks Provision and waits for the outcome of the panel's
// run number n.
func provisionRun(tb testing.TB, ctx context.Context, n int) {
	tb.Helper()
	waitFor(tb, ctx, `#provision[data-running="false"] #provision-start:not([disabled])`)
	click(tb, ctx, "provision-start")
	waitFor(tb, ctx, fmt.Sprintf(`#provision-result[data-run="%d"], #provision-error[data-run="%d"]`, n, n))
}

func mustVersion(s string) mcuimg.Version {
	v, _ := mcuimg.ParseVersion(s)
	return v
}

// textOfAny returns the text of the element whose id is id, or "" when
// there is none.
func textOfAny(tb testing.TB, ctx context.Context, id string) string {
	tb.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.getElementById(%q) || {textContent: ""}).textContent`, id)))
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// opensslVerify checks a device chain with `openssl verify`.
func opensslVerify(tb testing.TB, chain pki.Chain) {
	tb.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		tb.Skip("openssl not installed (apt-get install -y openssl)")
	}
	dir := tb.TempDir()
	for name, i := range map[string]int{"device.pem": 0, "intermediate.pem": 1, "root.pem": 2} {
		if err := os.WriteFile(filepath.Join(dir, name), pki.CertPEM(chain[i]), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	cmd := exec.Command(path, "verify", "-CAfile", "root.pem", "-untrusted", "intermediate.pem", "device.pem")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "device.pem: OK") {
		tb.Errorf("openssl verify: %v\n%s", err, out)
	}
}
