package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/chromedp/chromedp"

	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
	"trustforge/devices/sim"
	"trustforge/e2e/driver"
	"trustforge/internal/blocks"
	"trustforge/wasm/client"
	"trustforge/wasm/release"
)

// The Devices tests' fixtures: simulated boards in this process, reached by
// the page through the Web Serial shim, and products with release keys and
// releases on the shared server.

// simHardware is the hardware the simulated board reports (os info "i").
const simHardware = "trustforge_sim"

// board is a simulated board the page reaches as a granted serial port.
type board struct {
	*sim.Board
	shim *driver.SerialShim
	port string
	baud int
}

// boardOptions describe a board for newBoard.
type boardOptions struct {
	// Running is the version the board runs, signed with BootKey.
	Running string
	// BootKey is the key the board's bootloader trusts and signs its
	// factory image; nil leaves the board unprovisioned.
	BootKey *keys.PrivateKey
	// Baud paces the board's UART; zero is unpaced.
	Baud int
	// Chooser is the shim's port chooser mode; empty picks the first.
	Chooser string
	// NotGranted leaves the port out of getPorts(): it must be chosen.
	NotGranted bool
}

// newBoard makes a simulated board and installs the Web Serial shim in the
// tab of ctx, offering it as port "board-1". Call it before navigating.
func newBoard(tb testing.TB, ctx context.Context, o boardOptions) *board {
	tb.Helper()
	cfg := sim.Config{SlotSize: 512 << 10, Baud: o.Baud, Name: "site-7-pump"}
	if o.BootKey != nil {
		cfg.BootKeys = []*keys.PublicKey{o.BootKey.Public()}
	}
	b, err := sim.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	if o.Running != "" {
		if err := b.Program(signedImage(tb, o.Running, o.BootKey, 16<<10)); err != nil {
			tb.Fatal(err)
		}
	}
	shim, err := driver.InstallSerialShim(ctx, o.Chooser, driver.ShimPort{
		ID: "board-1", VendorID: 0x2fe3, ProductID: 0x0100, Baud: o.Baud, Granted: !o.NotGranted, Device: b,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return &board{Board: b, shim: shim, port: "board-1", baud: o.Baud}
}

// runs reports the version the board runs and whether it is confirmed.
func (b *board) runs() (string, bool) {
	r := b.Running()
	v := r.Version
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Revision), r.Confirmed
}

// signedImage makes an MCUboot image of version v with a recognisable
// payload, signed by key (nil: hash only).
func signedImage(tb testing.TB, v string, key *keys.PrivateKey, size int) []byte {
	tb.Helper()
	ver, err := mcuimg.ParseVersion(v)
	if err != nil {
		tb.Fatal(err)
	}
	payload := make([]byte, size)
	rand.Read(payload)
	img, err := mcuimg.Sign(payload, &mcuimg.SignOptions{Key: key, Version: ver, HeaderSize: 0x200, PadHeader: true})
	if err != nil {
		tb.Fatal(err)
	}
	return img
}

// writeFile writes data to a file of the test's temporary directory.
func writeFile(tb testing.TB, name string, data []byte) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// fleet is a product with a release key (which also signs images, and
// which its boards trust) and a technician's age identity.
type fleet struct {
	product string
	key     *keys.PrivateKey
	tech    *age.X25519Identity
}

// newFleet registers a product of the test's own and its release key.
func newFleet(tb testing.TB) *fleet {
	tb.Helper()
	k, err := keys.Generate(rand.Reader, keys.Ed25519)
	if err != nil {
		tb.Fatal(err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		tb.Fatal(err)
	}
	f := &fleet{product: env.accounts.newProduct(tb), key: k, tech: id}
	if _, _, err := rawJSON(context.Background(), env.server.URL, "POST", "/api/products/"+f.product+"/keys",
		map[string]string{"Authorization": "Bearer " + env.accounts.admin.Token},
		map[string]string{"public_key": string(k.Public().MarshalPEM()), "comment": "e2e release key"}); err != nil {
		tb.Fatal(err)
	}
	return f
}

// release builds a release bundle of version v for hardware (none: any),
// encrypted to the fleet's technician.
func (f *fleet) release(tb testing.TB, v string, size int, hardware ...string) *release.Built {
	tb.Helper()
	return f.releaseOn(tb, "stable", v, size, hardware...)
}

// releaseOn is release, offered on channel.
func (f *fleet) releaseOn(tb testing.TB, channel, v string, size int, hardware ...string) *release.Built {
	tb.Helper()
	fw := make([]byte, size)
	rand.Read(fw)
	built, err := release.Build(context.Background(), release.Input{
		Firmware:   blocks.Of(fw),
		Key:        f.key,
		Image:      mcuimg.SignOptions{HeaderSize: 0x200, PadHeader: true},
		Product:    f.product,
		Channel:    channel,
		Hardware:   hardware,
		Version:    v,
		Recipients: []string{f.tech.Recipient().String()},
	}, nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return built
}

// engineerAPI is an API client acting as the engineer, who publishes.
var engineerAPI = sync.OnceValues(func() (*client.Client, error) {
	_, body, err := rawJSON(context.Background(), env.server.URL, "POST", "/api/users/"+engineerName+"/tokens",
		map[string]string{"Authorization": "Bearer " + env.accounts.admin.Token}, map[string]string{"name": "e2e-devices"})
	if err != nil {
		return nil, err
	}
	tok := strings.TrimSpace(jsonField(body, "token"))
	return &client.Client{BaseURL: env.server.URL, Token: tok}, nil
})

// publish uploads a release as the engineer.
func (f *fleet) publish(tb testing.TB, b *release.Built) client.Release {
	tb.Helper()
	api, err := engineerAPI()
	if err != nil {
		tb.Fatal(err)
	}
	rel, err := api.Publish(context.Background(), b.Bundle.Blocks(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return rel
}

// technicianReady signs the technician in, creates a vault and imports the
// fleet's age identity into it, as a technician's laptop is prepared.
func (f *fleet) technicianReady(tb testing.TB, ctx context.Context) {
	tb.Helper()
	signIn(tb, ctx, technicianName, technicianPass)
	createVault(tb, ctx, technicianVaultPass)
	setFile(tb, ctx, "import-file", writeFile(tb, "field-laptop.agekey", []byte(f.tech.String()+"\n")))
	waitFor(tb, ctx, `tr[data-testid="key-row"][data-algorithm="age-x25519"]`)
}

// connectBoard opens the Devices page and connects to the granted port at
// the board's speed.
func connectBoard(tb testing.TB, ctx context.Context, b *board) {
	tb.Helper()
	if b.baud != 0 {
		choose(tb, ctx, "serial-baud", fmt.Sprint(b.baud))
	}
	waitFor(tb, ctx, `button[data-testid="granted-port"]`)
	click(tb, ctx, "port-0")
	waitFor(tb, ctx, `#link-status[data-state="connected"]`)
}

// waitSlot waits until slot's row shows version with every flag listed.
func waitSlot(tb testing.TB, ctx context.Context, slot int, version string, flags ...string) {
	tb.Helper()
	sel := fmt.Sprintf(`tr[data-testid="slot-row"][data-slot="%d"][data-version=%q]`, slot, version)
	for _, f := range flags {
		sel += fmt.Sprintf(`[data-flags*=%q]`, f)
	}
	waitFor(tb, ctx, sel)
}

// jsonField returns a string field of a JSON object.
func jsonField(body []byte, name string) string {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return ""
	}
	s, _ := m[name].(string)
	return s
}

// waitPresent waits until an element matches sel, visible or not (an
// option of a select).
func waitPresent(tb testing.TB, ctx context.Context, sel string) {
	tb.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS(sel))); err != nil {
		tb.Fatalf("waiting for %s: %v", sel, err)
	}
}

// waitGone waits until no element matches sel.
func waitGone(tb testing.TB, ctx context.Context, sel string) {
	tb.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitNotPresent(chromedp.CSS(sel))); err != nil {
		tb.Fatalf("waiting for %s to go: %v", sel, err)
	}
}

// eventually polls cond every 50 ms until it holds or the test's context
// ends: for state outside the page (the simulated board).
func eventually(tb testing.TB, ctx context.Context, what string, cond func() bool) {
	tb.Helper()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-t.C:
		case <-ctx.Done():
			tb.Fatalf("waiting for %s: %v", what, ctx.Err())
		}
	}
}
