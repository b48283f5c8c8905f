package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"trustforge/crypto/audit"
	"trustforge/crypto/bundle"
	"trustforge/e2e/driver"
	srvclient "trustforge/server/client"
)

// TestTechnicianUpdatesOffline is the field technician's day: at the office
// the release is downloaded into the browser; on site, with no network at
// all, the console is opened again (from its service worker), the vault
// unlocked, the board connected, the release verified and checked, flashed,
// booted once, checked and confirmed, one screen per step, and the report
// is kept. Back online, the report reaches the server's audit log.
func TestTechnicianUpdatesOffline(t *testing.T) {
	f := newFleet(t)
	rel := f.publish(t, f.release(t, "1.4.0", 64<<10, "other_board", simHardware))

	ctx, watch := newTab(t)
	b := newBoard(t, ctx, boardOptions{Running: "1.3.2", BootKey: f.key})
	f.technicianReady(t, ctx)
	if err := waitOfflineReady(ctx); err != nil {
		t.Fatal(err)
	}

	// At the office: download the release.
	goTo(t, ctx, "devices")
	click(t, ctx, "open-update")
	waitFor(t, ctx, `#update-steps[data-screen="release"]`)
	waitPresent(t, ctx, fmt.Sprintf(`#update-product option[value=%q]`, f.product))
	choose(t, ctx, "update-product", f.product)
	choose(t, ctx, "update-channel", "stable")
	waitFor(t, ctx, `button[data-testid="download-release"][data-version="1.4.0"]`)
	click(t, ctx, "download-0")
	waitFor(t, ctx, "#release-message")
	waitFor(t, ctx, `button[data-testid="use-release"][data-version="1.4.0"]`)

	// In the field: no network from here on.
	watch.Expect("net::ERR_INTERNET_DISCONNECTED")
	watch.Expect("net::ERR_FAILED") // a request the service worker could not pass on
	watch.Expect("Failed to fetch")
	if err := driver.SetOffline(ctx, true); err != nil {
		t.Fatal(err)
	}
	if err := driver.Open(ctx, env.server.URL+"/devices/update"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "#update-offline")
	waitFor(t, ctx, `button[data-testid="use-release"][data-version="1.4.0"]`)
	click(t, ctx, "use-0")
	waitFor(t, ctx, `#update-steps[data-screen="board"]`)
	hasText(t, ctx, "update-chosen", f.product+" 1.4.0")
	connectBoard(t, ctx, b)
	click(t, ctx, "update-next")
	// The reload locked the vault: the technician unlocks it.
	waitFor(t, ctx, "#update-vault-needed")
	waitFor(t, ctx, `#vault[data-state="locked"]`)
	typeInto(t, ctx, "vault-pass", technicianVaultPass)
	click(t, ctx, "vault-unlock")
	waitFor(t, ctx, `#update-steps[data-screen="check"]`)
	waitFor(t, ctx, "#update-ready")
	hasText(t, ctx, "update-ready", "the board runs 1.3.2")
	click(t, ctx, "update-flash")
	waitFor(t, ctx, `#update-outcome[data-outcome="updated"]`)
	hasText(t, ctx, "update-outcome", "the board runs 1.4.0, confirmed")
	report := textOf(t, ctx, "update-report")
	for _, want := range []string{"Outcome:      updated", "Technician:   " + technicianName, "Was running:  1.3.2",
		"ok   verify", "ok   check", "ok   upload", "ok   test boot", "ok   check version", "ok   confirm"} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %q:\n%s", want, report)
		}
	}
	if v, confirmed := b.runs(); v != "1.4.0" || !confirmed {
		t.Errorf("the board runs %s (confirmed %v), want a confirmed 1.4.0", v, confirmed)
	}
	waitFor(t, ctx, `#records-sync[data-state="waiting"][data-waiting="1"]`)
	waitFor(t, ctx, `tr[data-testid="report-row"][data-outcome="updated"][data-sent="waiting"]`)

	// The report can be saved.
	dl := catchDownloads(t, ctx)
	click(t, ctx, "report-save-text")
	name, saved := dl.next(t, ctx)
	if !strings.HasSuffix(name, ".txt") || !bytes.Contains(saved, []byte("Outcome:      updated")) {
		t.Errorf("saved report %q:\n%s", name, saved)
	}

	// Back online: the record reaches the audit log.
	if err := driver.SetOffline(ctx, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `#records-sync[data-state="sent"]`)
	waitFor(t, ctx, `tr[data-testid="report-row"][data-outcome="updated"][data-sent="sent"]`)
	e := auditEntry(t, "device.update", func(e audit.Entry) bool { return e.Detail["release"] == rel.ID })
	if e.Actor != technicianName || e.Detail["outcome"] != "updated" || e.Detail["version"] != "1.4.0" ||
		e.Detail["from"] != "1.3.2" || e.Detail["hardware"] != simHardware || e.Detail["transport"] != "serial" {
		t.Errorf("audit entry %+v", e)
	}
}

// TestTechnicianRefusals: a downgrade, a release for other hardware and a
// tampered bundle are each refused with a clear reason, the board keeps its
// image, and each refusal is reported.
func TestTechnicianRefusals(t *testing.T) {
	f := newFleet(t)
	good := f.release(t, "1.1.0", 32<<10).Bundle.Bytes()
	n := int(binary.BigEndian.Uint32(good[10:14]))
	tampered := bytes.Clone(good)
	tampered[bundle.HeaderSize+n+200] ^= 0x40 // a byte of the encrypted payload
	tests := []struct {
		name    string
		running string
		bundle  []byte
		reason  string
	}{
		{"downgrade", "1.2.0", good, "newer than release 1.1.0: downgrades are not allowed"},
		{"other hardware", "1.0.0", f.release(t, "1.3.0", 32<<10, "thermo_rev_a").Bundle.Bytes(), "for thermo_rev_a, but this board is " + simHardware},
		{"tampered", "1.0.0", tampered, "does not match its signed manifest"},
	}
	ctx, _ := newTab(t)
	b := newBoard(t, ctx, boardOptions{Running: "1.0.0", BootKey: f.key})
	f.technicianReady(t, ctx)
	goTo(t, ctx, "devices")
	click(t, ctx, "open-update")
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := b.Program(signedImage(t, tt.running, f.key, 16<<10)); err != nil {
				t.Fatal(err)
			}
			before := b.Running().Hash
			waitFor(t, ctx, `#update-steps[data-screen="release"]`)
			setFile(t, ctx, "update-file", writeFile(t, fmt.Sprintf("release-%d.tfb", i), tt.bundle))
			waitFor(t, ctx, `#update-steps[data-screen="board"]`)
			if i == 0 {
				connectBoard(t, ctx, b)
			}
			click(t, ctx, "update-next")
			waitFor(t, ctx, `#update-outcome[data-outcome="refused"]`)
			hasText(t, ctx, "update-outcome", "nothing was written to the board")
			hasText(t, ctx, "update-reason", tt.reason)
			// The pills say what ran: nothing that changes the board.
			failed := "check"
			if tt.name == "tampered" {
				failed = "verify"
			}
			waitFor(t, ctx, `#stepper-`+failed+`[data-state="failed"]`)
			for _, s := range []string{"upload", "test-boot", "check-version", "confirm"} {
				waitFor(t, ctx, `#stepper-`+s+`[data-state="skipped"]`)
			}
			if failed == "check" {
				waitFor(t, ctx, `#stepper-verify[data-state="done"]`)
			}
			if after := b.Running().Hash; !bytes.Equal(after, before) {
				t.Error("the board's image changed")
			}
			click(t, ctx, "update-again")
		})
	}
	// The three refusals are kept, waiting or sent.
	waitFor(t, ctx, `#records-sync[data-state="sent"]`)
	for _, reason := range []string{"downgrades are not allowed", "thermo_rev_a", "does not match its signed manifest"} {
		auditEntry(t, "device.update", func(e audit.Entry) bool {
			return e.Detail["product"] == f.product && e.Detail["outcome"] == "refused" && strings.Contains(e.Detail["reason"], reason)
		})
	}
}

// auditEntry returns the first audit entry of action that match accepts,
// failing the test when there is none.
func auditEntry(tb testing.TB, action string, match func(audit.Entry) bool) audit.Entry {
	tb.Helper()
	var buf bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := adminExport(ctx, &buf); err != nil {
		tb.Fatal(err)
	}
	r := audit.NewReader(&buf)
	for {
		e, err := r.Next()
		if err != nil {
			break
		}
		if e.Action == action && match(e) {
			return e
		}
	}
	tb.Fatalf("no %s entry matches in the audit log", action)
	return audit.Entry{}
}

// adminExport exports the server's audit log as the administrator.
func adminExport(ctx context.Context, w *bytes.Buffer) (string, error) {
	c := &srvclient.Client{BaseURL: env.server.URL, Token: env.accounts.admin.Token}
	return c.ExportAudit(ctx, w)
}

// TestUpdateOffersTheNewestChannel: the guided update first shows the
// channel that offers the product's newest release (here beta, where it
// was just published), and every channel on request.
func TestUpdateOffersTheNewestChannel(t *testing.T) {
	f := newFleet(t)
	f.publish(t, f.release(t, "1.0.0", 8<<10))
	f.publish(t, f.releaseOn(t, "beta", "1.1.0", 8<<10))

	ctx, _ := newTab(t)
	signIn(t, ctx, technicianName, technicianPass)
	goTo(t, ctx, "devices")
	click(t, ctx, "open-update")
	waitPresent(t, ctx, `#update-product option[value="`+f.product+`"]`)
	choose(t, ctx, "update-product", f.product)
	waitFor(t, ctx, `tr[data-testid="offered-release"][data-version="1.1.0"]`)
	if ch := valueOf(t, ctx, "update-channel"); ch != "beta" {
		t.Errorf("the channel shown is %q, want beta", ch)
	}
	choose(t, ctx, "update-channel", "")
	waitFor(t, ctx, `tr[data-testid="offered-release"][data-version="1.0.0"]`)
	waitFor(t, ctx, `tr[data-testid="offered-release"][data-version="1.1.0"]`)
	choose(t, ctx, "update-channel", "stable")
	waitGone(t, ctx, `tr[data-testid="offered-release"][data-version="1.1.0"]`)
	waitFor(t, ctx, `tr[data-testid="offered-release"][data-version="1.0.0"]`)
}
