package e2e

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"trustforge/crypto/audit"
	"trustforge/crypto/keys"
	"trustforge/crypto/pki"
	srvclient "trustforge/server/client"
)

// TestRevokeTrustAnchor revokes products' trust anchors on the Identity
// page: an old CA's roots still registered for one product (the second
// clicked in the row the first one's revocation vacated, so a handler
// holding the first row's root would revoke the wrong one), then this
// browser's root of another product. Each revocation is confirmed in the
// console first, reaches the server, and is audited as
// device_root.revoke by the engineer; a cancelled one changes nothing.
func TestRevokeTrustAnchor(t *testing.T) {
	productA, productB := env.accounts.newProduct(t), env.accounts.newProduct(t)
	api := &srvclient.Client{BaseURL: env.server.URL, Token: env.accounts.admin.Token}
	bg, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Product B still trusts two roots of an old CA.
	var old []string
	for i := range 2 {
		k, err := keys.Generate(nil, keys.ECDSAP256)
		if err != nil {
			t.Fatal(err)
		}
		root, err := pki.NewRoot(rand.Reader, k, pki.RootOptions{Organization: fmt.Sprintf("Old CA %d", i+1)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := api.AddDeviceRoot(bg, productB, string(pki.CertPEM(root.Cert)), "the old CA"); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(root.Cert.Raw)
		old = append(old, hex.EncodeToString(sum[:]))
	}

	ctx, _ := newTab(t)
	signIn(t, ctx, engineerName, engineerPass)
	createVault(t, ctx, identityVaultPass)
	goTo(t, ctx, "identity")
	typeInto(t, ctx, "ca-org", "Acme Devices")
	click(t, ctx, "ca-create-root")
	waitFor(t, ctx, "#ca-root")
	for _, p := range []string{productA, productB} {
		typeInto(t, ctx, "ca-product", p)
		click(t, ctx, "ca-add-intermediate")
		waitFor(t, ctx, "#ca-intermediate-"+p)
		waitFor(t, ctx, fmt.Sprintf(`tr[data-testid="anchor-row"][data-product=%q][data-state="trusted"]`, p))
	}
	mine := attr(t, ctx, "#anchor-"+productA, "data-fingerprint")
	if len(mine) != 64 {
		t.Fatalf("this CA's root fingerprint %q", mine)
	}
	otherRow := func(fp string) string {
		return fmt.Sprintf(`tr[data-testid="anchor-other"][data-product=%q][data-fingerprint=%q]`, productB, fp)
	}
	for _, fp := range old {
		waitFor(t, ctx, otherRow(fp))
	}
	revokeID := func(product, fp string) string { return "anchor-" + product + "-" + fp[:16] + "-revoke" }

	// state returns whether each root of product is active on the server.
	state := func(product string) map[string]bool {
		t.Helper()
		rs, err := api.DeviceRoots(bg, product)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, r := range rs {
			out[r.Fingerprint] = r.Revoked == nil
			if r.Revoked != nil && r.RevokedBy != engineerName {
				t.Errorf("%s of %s revoked by %q, want %q", r.Fingerprint, product, r.RevokedBy, engineerName)
			}
		}
		return out
	}
	wantState := func(product string, want map[string]bool) {
		t.Helper()
		got := state(product)
		for fp, active := range want {
			if got[fp] != active {
				t.Errorf("on the server, root %s… of %s active = %v, want %v", fp[:16], product, got[fp], active)
			}
		}
	}
	confirmFor := func(product, fp string) string {
		return fmt.Sprintf(`#anchor-revoke-confirm[data-product=%q][data-fingerprint=%q]`, product, fp)
	}
	revoke := func(product, fp string) {
		t.Helper()
		click(t, ctx, revokeID(product, fp))
		waitFor(t, ctx, confirmFor(product, fp))
		click(t, ctx, "anchor-revoke-confirm-yes")
		waitGone(t, ctx, "#anchor-revoke-confirm")
		waitFor(t, ctx, "#anchors-message")
		if msg := textOfAny(t, ctx, "anchors-error"); msg != "" {
			t.Fatalf("revoking %s… of %s: %s", fp[:16], product, msg)
		}
	}

	// Asked, explained, cancelled: nothing changes.
	click(t, ctx, revokeID(productB, old[0]))
	waitFor(t, ctx, confirmFor(productB, old[0]))
	what := textOf(t, ctx, "anchor-revoke-confirm")
	for _, want := range []string{"refuse boards and production packages of " + productB, "chain only to this root", "until another root is registered", old[0]} {
		if !strings.Contains(what, want) {
			t.Errorf("the confirmation says %q, missing %q", what, want)
		}
	}
	click(t, ctx, "anchor-revoke-cancel")
	waitGone(t, ctx, "#anchor-revoke-confirm")
	wantState(productB, map[string]bool{old[0]: true, old[1]: true, mine: true})

	// The old CA's roots, one after the other: the second one's row takes
	// the place of the first's.
	revoke(productB, old[0])
	waitGone(t, ctx, otherRow(old[0]))
	wantState(productB, map[string]bool{old[0]: false, old[1]: true, mine: true})
	revoke(productB, old[1])
	waitGone(t, ctx, otherRow(old[1]))
	wantState(productB, map[string]bool{old[0]: false, old[1]: false, mine: true})

	// This CA's root of A, its only one: the confirmation says so.
	click(t, ctx, revokeID(productA, mine))
	waitFor(t, ctx, confirmFor(productA, mine))
	if what := textOf(t, ctx, "anchor-revoke-confirm"); !strings.Contains(what, "only root "+productA+" trusts") {
		t.Errorf("revoking the last root, the confirmation says %q", what)
	}
	click(t, ctx, "anchor-revoke-cancel")
	waitGone(t, ctx, "#anchor-revoke-confirm")
	revoke(productA, mine)
	waitFor(t, ctx, fmt.Sprintf(`tr[data-testid="anchor-row"][data-product=%q][data-state="revoked"]`, productA))
	wantState(productA, map[string]bool{mine: false})
	wantState(productB, map[string]bool{mine: true})

	// The audit log has each revocation, by the engineer.
	for _, s := range []string{productB + "/" + old[0], productB + "/" + old[1], productA + "/" + mine} {
		e := auditEntry(t, "device_root.revoke", func(e audit.Entry) bool { return e.Subject == s })
		if e.Actor != engineerName {
			t.Errorf("device_root.revoke of %s by %q, want %q", s, e.Actor, engineerName)
		}
	}
}
