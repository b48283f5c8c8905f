package pki

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"testing"
	"time"

	"trustforge/crypto/keys"
)

func TestBatchCA(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	end := testNow.Add(30 * 24 * time.Hour)
	b, err := f.a.NewBatch(ctx, BatchOptions{Product: "thermo", Batch: "2026-03-line2", NotAfter: end})
	if err != nil {
		t.Fatal(err)
	}
	c := b.CA.Cert
	if !c.IsCA || c.MaxPathLen != 0 || !c.MaxPathLenZero || c.NotAfter != end || !c.NotBefore.Equal(testNow) {
		t.Errorf("batch CA: CA=%v pathlen=%d zero=%v validity %v to %v", c.IsCA, c.MaxPathLen, c.MaxPathLenZero, c.NotBefore, c.NotAfter)
	}
	if got := c.Subject.String(); got != "CN=batch 2026-03-line2 CA,OU=thermo,O=Acme Devices" {
		t.Errorf("subject %q", got)
	}
	if err := c.CheckSignatureFrom(b.Root); err != nil {
		t.Errorf("not signed by the root: %v", err)
	}
	subtree, err := CAInfo{Cert: c.Raw}.Subtree()
	if err != nil || !subtree.Equal(Name{{"O", "Acme Devices"}, {"OU", "thermo"}}) {
		t.Errorf("batch subtree %v, %v", subtree, err)
	}

	// A station holding the key certifies a board; the chain verifies up
	// to the hierarchy's root, with the ticket extension carried along.
	signer, err := BatchSigner(c, b.Key)
	if err != nil {
		t.Fatal(err)
	}
	bd := newBoard(t, "00112233445566778899aabb")
	subj, err := f.profile.Template.Render(subtree, "thermo", bd.id)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := NewSerial(rand.Reader)
	ext := pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 1, 1}, Value: []byte{4, 2, 0xca, 0xfe}}
	leaf, err := Issue(rand.Reader, signer, DeviceCert{Subject: subj, Key: bd.pub(t), Serial: serial, Now: testNow, Extensions: []pkix.Extension{ext}})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range leaf.Extensions {
		found = found || e.Id.Equal(ext.Id) && string(e.Value) == string(ext.Value)
	}
	if !found {
		t.Error("the device certificate lacks the extension given")
	}
	rc, _ := f.root.Certificate()
	chain := Chain{leaf, c, b.Root}
	if _, err := VerifyDevice(chain, DeviceCheck{Roots: []*x509.Certificate{rc}, Subject: subj, Key: bd.pub(t), Now: testNow.Add(time.Hour)}); err != nil {
		t.Errorf("batch chain: %v", err)
	}
	if err := f.a.Verify(ctx, chain, f.profile, bd.id, bd.pub(t)); err != nil {
		t.Errorf("authority verify of a batch chain: %v", err)
	}

	// The name constraints confine it to the product.
	other := Subject{Name: Name{{"O", "Acme Devices"}, {"OU", "kettle"}, {"CN", "kettle-00"}}, URI: "urn:dev:ops:32473-kettle-00"}
	serial, _ = NewSerial(rand.Reader)
	bad, err := Issue(rand.Reader, signer, DeviceCert{Subject: other, Key: bd.pub(t), Serial: serial, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyDevice(Chain{bad, c, b.Root}, DeviceCheck{Roots: []*x509.Certificate{rc}, Now: testNow}); !errors.Is(err, ErrChain) {
		t.Errorf("a kettle certified by a thermo batch: %v, want ErrChain", err)
	}

	// A key that is not the batch's is refused.
	otherKey, _ := keys.Generate(rand.Reader, keys.ECDSAP256)
	if _, err := BatchSigner(c, otherKey); !errors.Is(err, ErrInvalid) {
		t.Errorf("BatchSigner with another key: %v, want ErrInvalid", err)
	}
}

func TestBatchOptions(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	tests := []struct {
		name string
		o    BatchOptions
		want error
	}{
		{"no product intermediate", BatchOptions{Product: "kettle", Batch: "b1", NotAfter: testNow.Add(time.Hour)}, ErrNotFound},
		{"bad batch name", BatchOptions{Product: "thermo", Batch: "-x", NotAfter: testNow.Add(time.Hour)}, ErrInvalid},
		{"no expiry", BatchOptions{Product: "thermo", Batch: "b1"}, ErrInvalid},
		{"too long", BatchOptions{Product: "thermo", Batch: "b1", NotAfter: testNow.Add(2 * MaxBatchValidity)}, ErrInvalid},
		{"ends before it starts", BatchOptions{Product: "thermo", Batch: "b1", NotAfter: testNow.Add(-time.Hour)}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := f.a.NewBatch(ctx, tt.o); !errors.Is(err, tt.want) {
				t.Errorf("NewBatch(%+v) = %v, want %v", tt.o, err, tt.want)
			}
		})
	}
	f.v.Lock()
	if _, err := f.a.NewBatch(ctx, BatchOptions{Product: "thermo", Batch: "b1", NotAfter: testNow.Add(time.Hour)}); err == nil {
		t.Error("NewBatch with the vault locked succeeded")
	}
}
