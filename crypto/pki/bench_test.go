package pki

import (
	"context"
	"testing"
)

// BenchmarkConsoleProvisioning measures the console's share of
// provisioning one board: checking its request, issuing its certificate
// (unsealing the intermediate's key from the vault) and verifying the
// chain read back from it. Run it under GOOS=js GOARCH=wasm too, for the
// browser's figure.
func BenchmarkConsoleProvisioning(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	bd := newBoard(b, "00112233445566778899aabb")
	pol := f.policy(b, bd)
	subj, _ := pol.Template.Render(pol.Base, pol.Product, bd.id)
	der := bd.csr(b, subj.Name, subj.URI)
	b.ResetTimer()
	for b.Loop() {
		p, err := f.a.Policy(ctx, f.profile, bd.id, bd.pub(b))
		if err != nil {
			b.Fatal(err)
		}
		csr, err := p.Check(der)
		if err != nil {
			b.Fatal(err)
		}
		prov, err := f.a.Issue(ctx, f.profile, bd.id, csr)
		if err != nil {
			b.Fatal(err)
		}
		back, err := ParseChain(prov.Chain.DER())
		if err != nil {
			b.Fatal(err)
		}
		if err := f.a.Verify(ctx, back, f.profile, bd.id, bd.pub(b)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckCSR measures checking one request.
func BenchmarkCheckCSR(b *testing.B) {
	f := newFixture(b)
	bd := newBoard(b, "00112233445566778899aabb")
	pol := f.policy(b, bd)
	subj, _ := pol.Template.Render(pol.Base, pol.Product, bd.id)
	der := bd.csr(b, subj.Name, subj.URI)
	for b.Loop() {
		if _, err := pol.Check(der); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPreparedProvisioning is BenchmarkConsoleProvisioning with the
// issuer prepared once, as a production line provisions board after board:
// the console's work per board is checking the request, issuing (ledger
// read and write included) and verifying the chain read back.
func BenchmarkPreparedProvisioning(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	bd := newBoard(b, "00112233445566778899aabb")
	is, err := f.a.Prepare(ctx, f.profile)
	if err != nil {
		b.Fatal(err)
	}
	pol, _ := is.Policy(ctx, f.profile, bd.id, bd.pub(b))
	subj, _ := pol.Template.Render(pol.Base, pol.Product, bd.id)
	der := bd.csr(b, subj.Name, subj.URI)
	b.ResetTimer()
	for b.Loop() {
		csr, err := pol.Check(der)
		if err != nil {
			b.Fatal(err)
		}
		prov, err := is.Issue(ctx, f.profile, bd.id, csr)
		if err != nil {
			b.Fatal(err)
		}
		back, err := ParseChain(prov.Chain.DER())
		if err != nil {
			b.Fatal(err)
		}
		if err := is.Verify(ctx, back, f.profile, bd.id, bd.pub(b)); err != nil {
			b.Fatal(err)
		}
	}
}
