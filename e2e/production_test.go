package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"trustforge/crypto/audit"
	"trustforge/crypto/bundle"
	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
	"trustforge/crypto/pki"
	"trustforge/crypto/production"
	"trustforge/devices/sim"
	"trustforge/e2e/driver"
	"trustforge/wasm/client"
)

const (
	stationPass      = "station's password 1"
	stationVaultPass = "station vault passphrase"
	lineVaultPass    = "engineer's line vault passphrase"
)

// newWorkTab is newTab for tests that need more than two minutes.
func newWorkTab(tb testing.TB, d time.Duration) (context.Context, *driver.ErrorWatch) {
	tb.Helper()
	if env.skip != "" {
		tb.Skipf("chromium missing: %s", env.skip)
	}
	ctx, cancel, err := env.browser.NewTab()
	if err != nil {
		tb.Fatal(err)
	}
	ctx, tcancel := context.WithTimeout(ctx, d)
	watch := driver.WatchErrors(ctx)
	tb.Cleanup(func() {
		if err := watch.Err(); err != nil {
			tb.Error(err)
		}
		tcancel()
		cancel()
	})
	return ctx, watch
}

// lineBoards makes n simulated boards running a factory test image, each
// offered to the tab of ctx as a USB serial port the policy grants.
func lineBoards(tb testing.TB, ctx context.Context, n int) []*sim.Board {
	tb.Helper()
	factory, err := mcuimg.Sign(bytes.Repeat([]byte("factory test firmware "), 200),
		&mcuimg.SignOptions{Version: mcuimg.Version{Revision: 1}, HeaderSize: 0x200, PadHeader: true})
	if err != nil {
		tb.Fatal(err)
	}
	var boards []*sim.Board
	var ports []driver.ShimPort
	for i := range n {
		b, err := sim.New(sim.Config{SlotSize: 256 << 10, Name: fmt.Sprintf("line-board-%d", i+1)})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { b.Close() })
		if err := b.Program(factory); err != nil {
			tb.Fatal(err)
		}
		boards = append(boards, b)
		ports = append(ports, driver.ShimPort{ID: fmt.Sprintf("line-%d", i+1), VendorID: 0x2fe3, ProductID: 0x0100, Granted: true, Device: b})
	}
	if _, err := driver.InstallSerialShim(ctx, driver.ChooseCancel, ports...); err != nil {
		tb.Fatal(err)
	}
	return boards
}

// TestProductionLine is the production hand-off: an engineer builds a
// package of 8 devices on the Releases page for a station; the station,
// driven unattended through e2e/station, programs 10 presented boards:
// 8 are provisioned and flashed, the 9th and 10th are refused with
// "authorised count reached" and left untouched; the audit log shows
// exactly 8 tickets and every certificate issued carries a valid one. The
// product's Security plan then follows a change of its profile.
func TestProductionLine(t *testing.T) {
	bg := context.Background()
	start := time.Now()
	product := env.accounts.newProduct(t)
	stationUser := "line-" + product
	if err := env.accounts.createUser(bg, stationUser, "station", stationPass); err != nil {
		t.Fatal(err)
	}

	// The station: its boards on policy-granted ports, its vault and the
	// recipient packages are addressed to.
	sctx, swatch := newWorkTab(t, 8*time.Minute)
	boards := lineBoards(t, sctx, 10)
	line := enrolStation(t, sctx, stationUser, "line 2 station")

	t.Logf("%v: the station is enrolled", time.Since(start).Round(time.Millisecond))

	// The engineer: vault, release key (imported, registered), an age
	// identity that opens the product's releases, the device CA and a
	// profile that fuses the release key and encrypts images to each board.
	ectx, _ := newWorkTab(t, 8*time.Minute)
	releaseKey, keyID := lineEngineer(t, ectx, product, "Acme Devices", "line-release.pem", true)

	// The release, signed for encryption with the key in the clear (as
	// imgtool --clear), its full public key in the image as boards with a
	// fused key hash need it, encrypted to the engineer's recipient.
	rel := publishLineRelease(t, product, releaseKey)

	// The engineer builds the production package on the Releases page.
	goTo(t, ectx, "releases")
	waitFor(t, ectx, "#production-form")
	chooseListed(t, ectx, "production-product", product)
	chooseListed(t, ectx, "production-release", rel.ID)
	clearAndType(t, ectx, "production-batch", "line2-"+product)
	clearAndType(t, ectx, "production-count", "8")
	clearAndType(t, ectx, "production-days", "7")
	choose(t, ectx, "production-mode", string(production.ImageDevice))
	click(t, ectx, "production-station-"+stationUser)
	choose(t, ectx, "production-key", keyID)
	click(t, ectx, "production-build")
	got, err := chromedp.Run(ectx, chromedp.Poll[string](`(() => {
		const e = document.getElementById("production-error");
		if (e && e.textContent) return "error: " + e.textContent;
		const r = document.getElementById("production-result");
		return r ? r.dataset.package : null;
	})()`, chromedp.WithPollingMutation()))
	if err != nil {
		t.Fatal(err)
	}
	if msg, failed := strings.CutPrefix(got, "error: "); failed {
		t.Fatalf("building the package: %s", msg)
	}
	pkgID := got
	t.Logf("%v: the engineer built package %.16s…", time.Since(start).Round(time.Millisecond), pkgID)
	waitFor(t, ectx, `tr[data-package="`+pkgID+`"][data-issued="0"]`)

	// The station opens it and programs the ten presented boards. The
	// refusals of the 9th and 10th tickets are answers the browser logs.
	swatch.Expect("/api/production/packages/" + pkgID + "/tickets")
	if err := line.Open(pkgID); err != nil {
		t.Fatal(err)
	}
	run, err := line.Program()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%v: the station ran %d boards", time.Since(start).Round(time.Millisecond), len(run.Boards))
	if len(run.Boards) != 10 {
		t.Fatalf("the run reports %d boards, want 10: %+v", len(run.Boards), run.Boards)
	}
	if c := run.Counts; c.Done != 8 || c.Refused != 2 || c.Failed != 0 || c.Remaining != 0 {
		t.Errorf("station counts %+v, want 8 done, 2 refused, 0 failed, 0 remaining", c)
	}
	for i, b := range run.Boards {
		p := boards[i].Provisioning()
		r := boards[i].Running()
		if i < 8 {
			if b.State != "done" || b.Ticket == "" || !p.Locked || r.Version.Major != 1 || r.Version.Minor != 4 || !r.Confirmed {
				t.Errorf("board %d: %s %q; locked %v; runs %v (confirmed %v)", i+1, b.State, b.Detail, p.Locked, r.Version, r.Confirmed)
			}
			continue
		}
		if b.State != "refused" || !strings.Contains(b.Detail, "authorised count reached") {
			t.Errorf("board %d: %s %q, want refused: authorised count reached", i+1, b.State, b.Detail)
		}
		if p.IDKey != nil || p.Chain != nil || p.BootKey != nil || p.EncKey != nil || p.Locked || r.Version.Major != 0 || r.Version.Revision != 1 {
			t.Errorf("board %d was refused, yet it was written: provisioning %+v, runs %v", i+1, p, r.Version)
		}
	}

	// Exactly 8 tickets in the audit log, and every certificate issued
	// carries a valid one, for its own device.
	tickets := auditCount(t, "production.ticket", pkgID)
	if tickets != 8 {
		t.Errorf("the audit log shows %d production tickets, want 8", tickets)
	}
	pem, err := env.accounts.admin.TicketKey(bg)
	if err != nil {
		t.Fatal(err)
	}
	ticketKey, err := keys.ParsePublicKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	devs, err := env.accounts.admin.Devices(bg, client.DeviceFilter{Product: product})
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 8 {
		t.Errorf("%d devices registered, want 8", len(devs))
	}
	seen := map[string]bool{}
	for i := range 8 {
		chain, err := pki.ParseChain(boards[i].Provisioning().Chain)
		if err != nil {
			t.Fatalf("board %d's chain: %v", i+1, err)
		}
		st, ok, err := production.TicketOf(chain[0])
		if !ok || err != nil {
			t.Fatalf("board %d's certificate carries no ticket: %v", i+1, err)
		}
		tk, err := st.Verify(ticketKey.Crypto())
		if err != nil || tk.Package != pkgID || tk.Device != run.Boards[i].Device || tk.Count != 8 || seen[tk.ID] {
			t.Errorf("board %d's ticket %+v: %v", i+1, tk, err)
		}
		seen[tk.ID] = true
	}

	// The Security plan reads the order and the profile, and follows the
	// profile when device encryption is switched off.
	goTo(t, ectx, "security")
	plan := func() {
		chooseListed(t, ectx, "security-product", product)
		waitFor(t, ectx, `#security-plan[data-product="`+product+`"][data-loaded="true"]`)
	}
	plan()
	hasText(t, ectx, "threat-I2-status", "device encryption on")
	hasText(t, ectx, "threat-E2-status", "8 tickets issued of 8 authorised")
	hasText(t, ectx, "threat-T1-status", "boot key provisioned on 8/8 devices")
	if lvl := attr(t, ectx, "#threat-E2", "data-level"); lvl != "ok" {
		t.Errorf("over-production is %s", lvl)
	}
	dl := catchDownloads(t, ectx)
	click(t, ectx, "security-export")
	name, md := dl.next(t, ectx)
	if name != "security-plan-"+product+".md" || !bytes.Contains(md, []byte("# Security plan: "+product)) ||
		!bytes.Contains(md, []byte("| E2 | **Over-production by the contract manufacturer**")) || !bytes.Contains(md, []byte("8 tickets issued of 8 authorised")) {
		t.Errorf("exported %s:\n%s", name, md)
	}
	goTo(t, ectx, "identity")
	chooseListed(t, ectx, "profile-product", product)
	click(t, ectx, "profile-encrypt")
	click(t, ectx, "profile-save")
	waitFor(t, ectx, "#profile-message")
	goTo(t, ectx, "security")
	plan()
	hasText(t, ectx, "threat-I2-status", "device encryption off ⚠")
	if lvl := attr(t, ectx, "#threat-I2", "data-level"); lvl != "warn" {
		t.Errorf("with device encryption off, I2 is %s, want warn", lvl)
	}
}

// chooseListed waits until the <select> whose id is id lists value (its
// options load from the server), then chooses it.
func chooseListed(tb testing.TB, ctx context.Context, id, value string) {
	tb.Helper()
	eventually(tb, ctx, "#"+id+" to list "+value, func() bool {
		n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.querySelectorAll("#`+id+` option")].filter(o => o.value === `+jsString(value)+`).length`))
		return n == 1
	})
	choose(tb, ctx, id, value)
}

// publishLineRelease publishes version 1.4.0 of a product, as an engineer's
// CI would: signed by key for encryption but in the clear, with its full
// public key, encrypted to the engineer's published recipient.
func publishLineRelease(tb testing.TB, product string, key *keys.PrivateKey) client.Release {
	tb.Helper()
	devKey, _ := keys.Generate(rand.Reader, keys.X25519)
	rel, _ := publishEngineerRelease(tb, product, key, devKey.Public())
	return rel
}

// publishEngineerRelease publishes version 1.4.0 of a product signed by
// key, its image signed for encryption to encTo but in the clear (or not
// for encryption when encTo is nil), encrypted to the engineer's published
// recipient. It returns the release and its MCUboot image.
func publishEngineerRelease(tb testing.TB, product string, key *keys.PrivateKey, encTo *keys.PublicKey) (client.Release, []byte) {
	tb.Helper()
	ctx := context.Background()
	rs, err := env.accounts.admin.Recipients(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	var to bundle.Recipient
	for _, r := range rs {
		if r.User == engineerName {
			if to, err = bundle.ParseRecipient(r.Recipient); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if to == nil {
		tb.Fatal("the engineer published no recipient")
	}
	counter := uint32(3)
	img, err := mcuimg.Sign(bytes.Repeat([]byte("thermostat firmware 1.4.0 "), 1200), &mcuimg.SignOptions{Key: key,
		PublicKeyFormat: mcuimg.KeyFormatFull, Version: mcuimg.Version{Major: 1, Minor: 4}, HeaderSize: 0x200, PadHeader: true,
		Align: 8, EncryptTo: encTo, Clear: encTo != nil, SecurityCounter: &counter})
	if err != nil {
		tb.Fatal(err)
	}
	signer, _ := key.Signer()
	var tfb bytes.Buffer
	if _, err := bundle.Create(ctx, &tfb, bytes.NewReader(img), bundle.Manifest{Product: product, Channel: "stable",
		Version: bundle.Version{Major: 1, Minor: 4}, SecurityCounter: counter, Hardware: []string{}},
		bundle.CreateOptions{Key: signer, To: bundle.Recipients{Keys: []bundle.Recipient{to}}}); err != nil {
		tb.Fatal(err)
	}
	_, body, err := rawJSON(ctx, env.server.URL, "POST", "/api/users/"+engineerName+"/tokens",
		map[string]string{"Authorization": "Bearer " + env.accounts.admin.Token}, map[string]string{"name": "ci-" + product})
	if err != nil {
		tb.Fatal(err)
	}
	var tok struct{ Token string }
	json.Unmarshal(body, &tok)
	ci := &client.Client{BaseURL: env.server.URL, Token: tok.Token}
	rel, err := ci.Publish(ctx, [][]byte{tfb.Bytes()}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return rel, img
}

// auditCount counts the audit entries of action whose detail names the
// production package pkg.
func auditCount(tb testing.TB, action, pkg string) int {
	tb.Helper()
	var buf bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := adminExport(ctx, &buf); err != nil {
		tb.Fatal(err)
	}
	n := 0
	r := audit.NewReader(&buf)
	for {
		e, err := r.Next()
		if err != nil {
			break
		}
		if e.Action == action && e.Detail["package"] == pkg {
			n++
		}
	}
	return n
}
