package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"trustforge/devices/sim"
	"trustforge/e2e/driver"
)

// newcomer is what one newcomer run measured.
type newcomer struct {
	actions int
	took    time.Duration
}

// runNewcomer is a newcomer's first hour, through the console alone: a
// fresh server started with `trustforge serve --demo-board` prints its
// enrolment link; they open it, create their account, and from there use
// only what they see — create a product, a key vault, a signing key and a
// recipient, publish a release, and flash it onto the simulated board with
// the guided update, ending with the board running the release, confirmed,
// with one account.
func runNewcomer(tb testing.TB) newcomer {
	tb.Helper()
	if env.skip != "" {
		tb.Skip(env.skip)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	data := filepath.Join(tb.TempDir(), "data")
	srv, err := driver.StartServer(sctx, driver.ServerOptions{Binary: env.bin, WebDir: env.webDir, DataDir: data,
		Args: []string{"--demo-board"}, Log: testLog()})
	if err != nil {
		tb.Fatal(err)
	}
	// Cleanups run last first: the tab closes, then the server stops,
	// then the board's flash, as the server left it, is read.
	tb.Cleanup(func() { checkDemoBoard(tb, data, "1.0.0") })
	tb.Cleanup(func() { srv.Stop() })
	link := enrolLink.FindString(srv.Output())
	if link == "" {
		tb.Fatalf("the server printed no enrolment link:\n%s", srv.Output())
	}

	ctx, _ := newWorkTab(tb, 8*time.Minute)
	if _, err := driver.InstallSerialShim(ctx, ""); err != nil { // no real port is ever listed
		tb.Fatal(err)
	}
	p := newPerson(tb, ctx)
	start := time.Now()
	if err := driver.Open(ctx, srv.URL+link); err != nil {
		tb.Fatal(err)
	}
	p.see("Create the first account")
	p.shot("enrol")
	p.fill("User name", "ada")
	p.fill("Password", "kettle orbit lantern")
	p.fill("Password again", "kettle orbit lantern")
	p.see("Fair")
	p.shot("enrol-filled")
	p.click("Create account and sign in")
	p.see("Getting started")
	p.shot("home")
	p.click("Go to Administration")
	p.fill("Product name", "thermo")
	p.click("Create product")
	p.see("Created product thermo")
	p.shot("admin")

	// A vault, a signing key registered with the product, and a
	// decryption key published as the account's recipient.
	p.click("Keys")
	p.fill("Passphrase", "newcomer vault passphrase")
	p.fill("Passphrase again", "newcomer vault passphrase")
	p.click("Create vault")
	p.see("Unlocked")
	p.click("Generate")
	p.click("Register with thermo")
	p.see("Registered")
	p.shot("keys")

	// The release, encrypted to a recipient of ada's own, made on the
	// publish form in one click and ticked.
	fw := writeFile(tb, "app.bin", firmware(48<<10))
	p.click("Releases")
	p.click("Make my recipient")
	p.see("ada (you")
	p.chooseFile("Choose the firmware", fw)
	p.fill("Version", "1.0.0")
	p.click("Publish")
	p.see("Signed manifest")
	p.shot("published")

	// The guided update onto the simulated board.
	p.click("Devices")
	p.click("Use the guided update")
	// The release went to beta: if the page shows another channel, pick
	// beta.
	if p.seeAny("Download for offline use", "No release is offered on this channel") != "Download for offline use" || !p.shows("Channel", "beta") {
		p.pick("Channel", "beta")
	}
	p.click("Download and flash")
	p.click("Try the simulated board")
	p.click("Verify the release and check the board")
	p.click("Flash 1.0.0")
	p.see("the board runs 1.0.0, confirmed")
	p.seeRow("updated", "thermo 1.0.0", "sent")
	p.shot("updated")
	n := newcomer{actions: p.actions, took: time.Since(start)}

	// Not counted: the home page's checklist, computed from the server and
	// this browser, now has every step ticked and folds away.
	p.click("trustforge")
	p.see("Getting started: all 7 steps done")
	p.click("Show the checklist")
	p.see("7 of 7 done")
	p.shot("home-done")
	// One account administers and publishes: the security plan says so.
	p.click("Security plan")
	p.see("the only publisher is also the only administrator")
	p.shot("security")
	return n
}

// checkDemoBoard opens the flash the demo board of a stopped server kept in
// its data directory and checks that it boots version want, confirmed: an
// oracle independent of what the console showed.
func checkDemoBoard(tb testing.TB, dataDir, want string) {
	tb.Helper()
	b, err := sim.New(sim.Config{FlashFile: filepath.Join(dataDir, "demo-board.flash")})
	if err != nil {
		tb.Errorf("opening the demo board's flash: %v", err)
		return
	}
	defer b.Close()
	r := b.Running()
	got := fmt.Sprintf("%d.%d.%d", r.Version.Major, r.Version.Minor, r.Version.Revision)
	if got != want || !r.Confirmed {
		tb.Errorf("the demo board runs %s (confirmed %v), want %s confirmed", got, r.Confirmed, want)
	}
}

// firmware returns n bytes of a made-up application binary.
func firmware(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	copy(b, "newcomer's first application\n")
	return b
}

func TestNewcomer(t *testing.T) {
	n := runNewcomer(t)
	t.Logf("newcomer: %d actions, %v", n.actions, n.took.Round(time.Millisecond))
}

// BenchmarkNewcomer reports what the newcomer test takes: the person's
// actions (clicks, fields typed into, options and files picked; goal: at
// most 25) and the wall time from opening the enrolment link to the
// confirmed board, on this machine.
func BenchmarkNewcomer(b *testing.B) {
	var actions int
	var took time.Duration
	for i := 0; i < b.N; i++ {
		n := runNewcomer(b)
		actions, took = n.actions, took+n.took
	}
	b.ReportMetric(float64(actions), "actions")
	b.ReportMetric(took.Seconds()/float64(b.N), "s/newcomer")
	b.ReportMetric(0, "ns/op")
}
