package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"trustforge/e2e/driver"
)

// TestTeam is a small team set up and at work through the console alone,
// each person in a browser of their own: the administrator enrols with the
// printed link, administering only, creates a product and accounts for an
// engineer and a technician; the technician publishes a recipient; the
// engineer publishes a release to the technician by name; the technician
// downloads it, goes out of network reach and runs the guided update on a
// board; back online, the administrator finds the update in the audit
// log, whose chain the browser checked.
func TestTeam(t *testing.T) {
	if env.skip != "" {
		t.Skip(env.skip)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := driver.StartServer(sctx, driver.ServerOptions{Binary: env.bin, WebDir: env.webDir,
		DataDir: filepath.Join(t.TempDir(), "data"), Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() }) // after the tabs close
	link := enrolLink.FindString(srv.Output())
	if link == "" {
		t.Fatalf("the server printed no enrolment link:\n%s", srv.Output())
	}

	// The administrator.
	actx, _ := newWorkTab(t, 8*time.Minute)
	admin := newPerson(t, actx)
	if err := driver.Open(actx, srv.URL+link); err != nil {
		t.Fatal(err)
	}
	admin.fill("User name", "ada")
	admin.fill("Password", "ada's long password")
	admin.fill("Password again", "ada's long password")
	admin.tick("Administer only")
	admin.click("Create account and sign in")
	admin.see("Create an account for each engineer and technician")
	admin.shot("home")
	admin.click("Go to Administration")
	admin.fill("Product name", "pump")
	admin.click("Create product")
	admin.see("Created product pump")
	admin.within("Create an account", func() {
		admin.fill("User name", "erin")
		admin.fill("Password (leave empty", "erin's long password")
		admin.click("Create account")
	})
	admin.see("Created erin (engineer)")
	admin.within("Create an account", func() {
		admin.fill("User name", "tess")
		admin.untick("engineer")
		admin.tick("technician")
		admin.fill("Password (leave empty", "tess's long password")
		admin.click("Create account")
	})
	admin.see("Created tess (technician)")
	admin.shot("accounts")
	// The administrator's Releases page says why it offers no publishing.
	admin.click("Releases")
	admin.see("Sign, encrypt and publish releases, promote and yank them, and build production packages: engineers can. Give your account (or a colleague's) the engineer role on Administration.")
	admin.click("Administration")

	// The technician makes a decryption key and publishes its recipient.
	tctx, twatch := newWorkTab(t, 8*time.Minute)
	b := newBoard(t, tctx, boardOptions{Running: "0.9.0"})
	tech := newPerson(t, tctx)
	signInAs(t, tech, srv.URL, "tess", "tess's long password")
	tech.click("Keys")
	tech.fill("Passphrase", "tess vault passphrase")
	tech.fill("Passphrase again", "tess vault passphrase")
	tech.click("Create vault")
	tech.see("Unlocked")
	tech.pick("Kind", "age-x25519")
	tech.click("Generate")
	tech.click("Publish as my recipient")
	tech.see("Published")
	// What a technician cannot do here, the page says who can and whom to
	// ask, by name.
	tech.see("Register a signing key with a product, so the server accepts releases it signs: administrators and engineers can. Ask an administrator (ada)")

	// The engineer signs and publishes a release to tess by name.
	ectx, _ := newWorkTab(t, 8*time.Minute)
	eng := newPerson(t, ectx)
	signInAs(t, eng, srv.URL, "erin", "erin's long password")
	eng.click("Keys")
	eng.fill("Passphrase", "erin vault passphrase")
	eng.fill("Passphrase again", "erin vault passphrase")
	eng.click("Create vault")
	eng.see("Unlocked")
	eng.click("Generate")
	eng.click("Register with pump")
	eng.see("Registered")
	eng.click("Releases")
	eng.see("tess · ")
	eng.chooseFile("Choose the firmware", writeFile(t, "pump.bin", firmware(40<<10)))
	eng.fill("Version", "1.0.0")
	eng.tick("tess · ")
	eng.click("Publish")
	eng.see("Signed manifest")
	eng.shot("published")

	// The technician downloads it at the office, then updates the board
	// with no network at all.
	tech.click("Devices")
	tech.click("Use the guided update")
	if tech.seeAny("Download for offline use", "No release is offered on this channel") != "Download for offline use" || !tech.shows("Channel", "beta") {
		tech.pick("Channel", "beta")
	}
	tech.click("Download for offline use")
	tech.see("Flash this release")
	if err := waitOfflineReady(tctx); err != nil {
		t.Fatal(err)
	}
	twatch.Expect("net::ERR_INTERNET_DISCONNECTED")
	twatch.Expect("net::ERR_FAILED")
	twatch.Expect("Failed to fetch")
	if err := driver.SetOffline(tctx, true); err != nil {
		t.Fatal(err)
	}
	if err := driver.Open(tctx, srv.URL+"/devices/update"); err != nil { // reopened in the field
		t.Fatal(err)
	}
	tech.click("Flash this release")
	tech.clickStarting("Connect to ")
	tech.click("Verify the release and check the board")
	tech.fill("Passphrase", "tess vault passphrase") // the reload locked the vault
	tech.click("Unlock")
	tech.click("Flash 1.0.0")
	tech.see("the board runs 1.0.0, confirmed")
	tech.shot("updated")
	if v, confirmed := b.runs(); v != "1.0.0" || !confirmed {
		t.Errorf("the board runs %s (confirmed %v), want a confirmed 1.0.0", v, confirmed)
	}
	if err := driver.SetOffline(tctx, false); err != nil {
		t.Fatal(err)
	}
	tech.seeRow("updated", "pump 1.0.0", "sent")

	// The administrator finds it in the audit log.
	admin.click("Reload and check")
	admin.see("chain intact")
	admin.fill("Filter", "device.update")
	admin.seeRow("tess", "device.update")
	admin.shot("audit")

	// Tokens are shown once; a signing key can be revoked.
	admin.clickIn("tess", "Issue token")
	admin.see("It is shown only now")
	admin.shot("token")
	admin.click("Done")
	admin.clickIn("tess", "Revoke")
	admin.see("Revoked token")
	admin.click("Refresh") // the products as they are now, with erin's key
	admin.clickIn("pump", "Revoke")
	admin.see("the server accepts no new release it signs")
	admin.seeRow("pump", "revoked")
}

// signInAs opens the console's sign-in page and signs in as a person does.
func signInAs(tb testing.TB, p *person, base, name, password string) {
	tb.Helper()
	if err := driver.Open(p.ctx, base+"/signin"); err != nil {
		tb.Fatal(err)
	}
	p.fill("User name", name)
	p.fill("Password", password)
	p.click("Sign in")
	p.see(name + " · ")
}
