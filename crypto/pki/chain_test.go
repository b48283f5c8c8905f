package pki

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseChain(t *testing.T) {
	f := newFixture(t)
	prov := f.provision(t, newBoard(t, "cafe"))
	der, pemChain := prov.Chain.DER(), prov.Chain.PEM()
	for name, data := range map[string][]byte{"DER": der, "PEM": pemChain} {
		got, err := ParseChain(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got.DER(), der) {
			t.Errorf("%s: chain changed in a round trip", name)
		}
	}
	for n := 1; n < len(der); n++ {
		if n == len(prov.Chain[0].Raw) || n == len(prov.Chain[0].Raw)+len(prov.Chain[1].Raw) {
			continue // a whole, shorter chain
		}
		if _, err := ParseChain(der[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("chain cut to %d bytes: %v", n, err)
		}
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"too many", bytes.Repeat(prov.Chain[0].Raw, MaxChainCerts+1)},
		{"private key PEM", []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")},
		{"text after PEM", append(append([]byte(nil), pemChain...), "junk"...)},
		{"too large", make([]byte, MaxChainSize+1)},
	}
	for _, tt := range tests {
		if _, err := ParseChain(tt.data); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", tt.name, err)
		}
	}
}

func TestVerifyDeviceRefusals(t *testing.T) {
	f := newFixture(t)
	prov := f.provision(t, newBoard(t, "cafe"))
	other := newFixture(t)
	otherProv := other.provision(t, newBoard(t, "cafe"))
	roots := DeviceCheck{Roots: prov.Chain[2:], Now: testNow}
	tests := []struct {
		name  string
		chain Chain
	}{
		{"leaf only", prov.Chain[:1]},
		{"another hierarchy's chain", otherProv.Chain},
		{"intermediate from another hierarchy", Chain{prov.Chain[0], otherProv.Chain[1], prov.Chain[2]}},
		{"out of order", Chain{prov.Chain[1], prov.Chain[0], prov.Chain[2]}},
	}
	for _, tt := range tests {
		reparsed, err := ParseChain(tt.chain.DER())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := VerifyDevice(reparsed, roots); !errors.Is(err, ErrChain) {
			t.Errorf("%s: %v, want ErrChain", tt.name, err)
		}
	}
	late := roots
	late.Now = testNow.AddDate(25, 0, 0) // after the intermediate expired
	if _, err := VerifyDevice(prov.Chain, late); !errors.Is(err, ErrChain) {
		t.Errorf("after the intermediate expired: %v, want ErrChain", err)
	}
}
