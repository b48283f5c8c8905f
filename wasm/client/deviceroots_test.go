//go:build !(js && wasm)

package client_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"trustforge/crypto/keys"
	"trustforge/crypto/pki"
	"trustforge/internal/apiwire"
	"trustforge/wasm/client"
)

// TestDeviceRootsAgainstTheServer registers a product's trust anchor and
// revokes it through the client, against the real release API.
func TestDeviceRootsAgainstTheServer(t *testing.T) {
	ctx := context.Background()
	hs, admin := newServer(t)
	post(t, admin, "/api/users", map[string]string{"name": "erin", "role": "engineer", "password": "erin password 1"})
	post(t, admin, "/api/users", map[string]string{"name": "tess", "role": "technician", "password": "tess password 1"})
	post(t, admin, "/api/products", map[string]any{"name": "thermo", "channels": []string{"beta"}})
	eng, tech := newClient(hs), newClient(hs)
	if _, err := eng.SignIn(ctx, "erin", "erin password 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := tech.SignIn(ctx, "tess", "tess password 1"); err != nil {
		t.Fatal(err)
	}

	key, err := keys.Generate(nil, keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	root, err := pki.NewRoot(rand.Reader, key, pki.RootOptions{Organization: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(root.Cert.Raw)
	fp := hex.EncodeToString(sum[:])
	if _, err := eng.AddDeviceRoot(ctx, "thermo", root.Cert, "test root"); err != nil {
		t.Fatal(err)
	}

	if err := tech.RevokeDeviceRoot(ctx, "thermo", fp); !errors.Is(err, apiwire.CodeForbidden) {
		t.Errorf("a technician revoking: err = %v, want forbidden", err)
	}
	if err := eng.RevokeDeviceRoot(ctx, "thermo", fp); err != nil {
		t.Fatalf("RevokeDeviceRoot: %v", err)
	}
	rs, err := eng.DeviceRoots(ctx, "thermo")
	if err != nil || len(rs) != 1 {
		t.Fatalf("DeviceRoots = %+v, %v", rs, err)
	}
	if rs[0].Fingerprint != fp || rs[0].Revoked == nil || rs[0].RevokedBy != "erin" {
		t.Errorf("after revocation: %+v, want %s revoked by erin", rs[0], fp)
	}
	if err := eng.RevokeDeviceRoot(ctx, "thermo", fp); err == nil {
		t.Error("revoking a revoked root succeeded")
	}
	if _, err := eng.EnsureDeviceRoot(ctx, "thermo", root.Cert, "again"); !errors.Is(err, client.ErrRootRevoked) {
		t.Errorf("EnsureDeviceRoot of a revoked root: err = %v, want root_revoked", err)
	}
}
