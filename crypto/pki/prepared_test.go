package pki

import (
	"context"
	"errors"
	"testing"
)

func TestPreparedIssuer(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	is, err := f.a.Prepare(ctx, f.profile)
	if err != nil {
		t.Fatal(err)
	}
	b := newBoard(t, "c0ffee")
	pol, err := is.Policy(ctx, f.profile, b.id, b.pub(t))
	if err != nil {
		t.Fatal(err)
	}
	subj, _ := pol.Template.Render(pol.Base, pol.Product, b.id)
	csr, err := pol.Check(b.csr(t, subj.Name, subj.URI))
	if err != nil {
		t.Fatal(err)
	}
	prov, err := is.Issue(ctx, f.profile, b.id, csr)
	if err != nil {
		t.Fatal(err)
	}
	back, _ := ParseChain(prov.Chain.DER())
	if err := is.Verify(ctx, back, f.profile, b.id, b.pub(t)); err != nil {
		t.Fatalf("prepared Verify: %v", err)
	}
	if err := f.a.Verify(ctx, back, f.profile, b.id, b.pub(t)); err != nil {
		t.Fatalf("the authority's Verify disagrees: %v", err)
	}
	if rec, _ := f.a.Find(ctx, b.id); len(rec) != 1 || rec[0].Serial != prov.Record.Serial {
		t.Errorf("the ledger lacks the prepared issuer's certificate: %+v", rec)
	}

	other := newFixture(t)
	otherProv := other.provision(t, newBoard(t, "c0ffee"))
	tampered := prov.Chain.DER()
	tampered[len(prov.Chain[0].Raw)-6] ^= 1
	tamperedChain, err := ParseChain(tampered)
	if err != nil {
		t.Fatal(err)
	}
	otherBoard := newBoard(t, "c0ffee")
	tests := []struct {
		name  string
		chain Chain
		id    string
		key   bool // check against b's key
		want  error
	}{
		{"another device id", back, "c0ffef", false, ErrWrongDevice},
		{"another key", back, b.id, true, ErrKeyMismatch},
		{"another hierarchy", otherProv.Chain, b.id, false, ErrChain},
		{"a tampered signature", tamperedChain, b.id, false, ErrChain},
		{"without the root", back[:2], b.id, false, ErrChain},
	}
	for _, tt := range tests {
		key := otherBoard.pub(t)
		if !tt.key {
			key = nil
		}
		if err := is.Verify(ctx, tt.chain, f.profile, tt.id, key); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	changed := f.profile
	changed.Template.ServerAuth = true
	if _, err := is.Issue(ctx, changed, b.id, csr); !errors.Is(err, ErrInvalid) {
		t.Errorf("issuing for another profile: %v, want ErrInvalid", err)
	}
}
