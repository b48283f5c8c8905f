package pki

import (
	"context"
	"errors"
	"testing"
	"time"

	"trustforge/crypto/vault"
)

func TestBackupRestore(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first := f.provision(t, newBoard(t, "0101"))
	if _, err := f.a.CRL(ctx, f.inter.ID); err != nil {
		t.Fatal(err)
	}
	backup, err := f.a.Backup(ctx, "backup passphrase", 1)
	if err != nil {
		t.Fatal(err)
	}

	st := newMemStore()
	v, err := vault.Create(ctx, st, "another vault pw", vault.Options{WorkFactor: 1})
	if err != nil {
		t.Fatal(err)
	}
	b := New(st, v, Options{Now: func() time.Time { return testNow }})
	if _, err := b.Restore(ctx, backup, "wrong passphrase"); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("Restore with a wrong passphrase: %v", err)
	}
	tampered := append([]byte(nil), backup...)
	tampered[len(tampered)-20] ^= 1
	if _, err := b.Restore(ctx, tampered, "backup passphrase"); !errors.Is(err, ErrMalformed) {
		t.Errorf("Restore of a tampered backup: %v", err)
	}
	if len(st.keys()) != 1 { // the vault header only
		t.Fatalf("failed restores wrote %v", st.keys())
	}
	res, err := b.Restore(ctx, backup, "backup passphrase")
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 2 || len(res.CAs) != 2 {
		t.Errorf("restore: %+v", res)
	}
	// The restored authority issues, with serials its ledger knows.
	g := &fixture{st: st, v: v, a: b, root: f.root, inter: f.inter, profile: f.profile}
	p, err := b.Profile(ctx, "thermo")
	if err != nil || p.Issuer != f.inter.ID {
		t.Fatalf("restored profile %+v, %v", p, err)
	}
	second := g.provision(t, newBoard(t, "0202"))
	if err := b.Verify(ctx, second.Chain, p, "0202", nil); err != nil {
		t.Fatal(err)
	}
	issued, _ := b.Issued(ctx, f.inter.ID)
	if len(issued) != 2 || (issued[0].Serial != first.Record.Serial && issued[1].Serial != first.Record.Serial) {
		t.Errorf("restored ledger holds %d records, without %s", len(issued), first.Record.Serial)
	}
	der, err := b.CRL(ctx, f.inter.ID)
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := ParseCRL(der, nil); l.Number.Int64() != 2 {
		t.Errorf("CRL number after restore %v, want 2", l.Number)
	}
	// Restoring again adds nothing; restoring over another root is refused.
	if res, err := b.Restore(ctx, backup, "backup passphrase"); err != nil || res.Added != 0 {
		t.Errorf("second restore: %+v, %v", res, err)
	}
	other := newFixture(t)
	if _, err := other.a.Restore(ctx, backup, "backup passphrase"); !errors.Is(err, ErrExists) {
		t.Errorf("restore over another root: %v, want ErrExists", err)
	}
}
