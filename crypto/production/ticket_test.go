package production

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"strings"
	"testing"
	"time"

	"trustforge/crypto/bundle"
	"trustforge/crypto/keys"
	"trustforge/crypto/pki"
)

func testTicket() Ticket {
	return Ticket{ID: strings.Repeat("ab", 16), Package: strings.Repeat("cd", 32), Product: "thermo", Batch: "2026-03-line2",
		Seq: 3, Count: 8, Device: "00112233445566778899aabb", Issued: testNow, Expires: testNow.Add(14 * 24 * time.Hour)}
}

func TestTicketRoundTrip(t *testing.T) {
	serverKey, _ := keys.Generate(rand.Reader, keys.Ed25519)
	signer, _ := serverKey.Signer()
	for _, device := range []string{"00112233445566778899aabb", ""} {
		tk := testTicket()
		tk.Device = device
		st, err := SignTicket(rand.Reader, tk, signer)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseTicket(st.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		got, err := back.Verify(serverKey.Public().Crypto())
		if err != nil {
			t.Fatal(err)
		}
		if *got != tk {
			t.Errorf("ticket %+v, want %+v", *got, tk)
		}
		if len(st.Bytes()) > MaxTicketSize/4 {
			t.Errorf("a ticket of %d bytes: too large for a certificate", len(st.Bytes()))
		}
	}
	// Another key's ticket, or a package manifest's signature, does not
	// pass as the server's ticket.
	other, _ := keys.Generate(rand.Reader, keys.Ed25519)
	os, _ := other.Signer()
	forged, _ := SignTicket(rand.Reader, testTicket(), os)
	if _, err := forged.Verify(serverKey.Public().Crypto()); !errors.Is(err, ErrUntrusted) {
		t.Errorf("a ticket by another key: %v, want ErrUntrusted", err)
	}
	env, _ := bundle.SignEnvelope(rand.Reader, PackageKind, []byte{0xa0}, signer)
	if _, err := ParseTicket(env.Bytes()); !errors.Is(err, ErrMalformed) {
		t.Errorf("a package envelope as a ticket: %v, want ErrMalformed", err)
	}
	st, _ := SignTicket(rand.Reader, testTicket(), signer)
	raw := st.Bytes()
	for i := range raw {
		b := bytes.Clone(raw)
		b[i] ^= 0x04
		x, err := ParseTicket(b)
		if err == nil {
			_, err = x.Verify(serverKey.Public().Crypto())
		}
		if err == nil {
			t.Fatalf("ticket byte %d changed: still verifies", i)
		}
	}
}

func TestTicketFor(t *testing.T) {
	tk := testTicket()
	block := testTicket()
	block.Device = ""
	tests := []struct {
		name   string
		t      Ticket
		pkg    string
		device string
		at     time.Time
		want   error
	}{
		{"its device", tk, tk.Package, tk.Device, testNow, nil},
		{"block ticket, any device", block, tk.Package, "ff", testNow, nil},
		{"another device", tk, tk.Package, "ff", testNow, ErrWrongTicket},
		{"another package", tk, strings.Repeat("00", 32), tk.Device, testNow, ErrWrongTicket},
		{"expired", tk, tk.Package, tk.Device, tk.Expires, ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.t.For(tt.pkg, tt.device, tt.at); !errors.Is(err, tt.want) {
				t.Errorf("For = %v, want %v", err, tt.want)
			}
		})
	}
	bad := []func(*Ticket){
		func(t *Ticket) { t.Seq = 9 },
		func(t *Ticket) { t.Seq = 0 },
		func(t *Ticket) { t.ID = "ab" },
		func(t *Ticket) { t.Device = "not hex" },
		func(t *Ticket) { t.Expires = t.Issued },
		func(t *Ticket) { t.Batch = "" },
	}
	key, _ := keys.Generate(rand.Reader, keys.Ed25519)
	s, _ := key.Signer()
	for i, change := range bad {
		tk := testTicket()
		change(&tk)
		if _, err := SignTicket(rand.Reader, tk, s); !errors.Is(err, ErrMalformed) {
			t.Errorf("bad ticket %d: %v, want ErrMalformed", i, err)
		}
	}
}

// TestTicketInCertificate issues a device certificate with its ticket and
// reads it back.
func TestTicketInCertificate(t *testing.T) {
	f := newFixture(t)
	serverKey, _ := keys.Generate(rand.Reader, keys.Ed25519)
	signer, _ := serverKey.Signer()
	st, err := SignTicket(rand.Reader, testTicket(), signer)
	if err != nil {
		t.Fatal(err)
	}
	ext, err := st.Extension()
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.BatchSigner(f.batch.CA.Cert, f.batch.Key)
	if err != nil {
		t.Fatal(err)
	}
	devKey, _ := keys.Generate(rand.Reader, keys.ECDSAP256)
	base, _ := pki.CAInfo{Cert: f.batch.CA.Cert.Raw}.Subtree()
	subj, _ := pki.Template{}.Render(base, "thermo", "00112233445566778899aabb")
	serial, _ := pki.NewSerial(rand.Reader)
	cert, err := pki.Issue(rand.Reader, ca, pki.DeviceCert{Subject: subj, Key: devKey.Public(), Serial: serial, Now: testNow,
		Extensions: []pkix.Extension{ext}})
	if err != nil {
		t.Fatal(err)
	}
	parsed, _ := x509.ParseCertificate(cert.Raw)
	back, ok, err := TicketOf(parsed)
	if !ok || err != nil {
		t.Fatalf("TicketOf: ok=%v err=%v", ok, err)
	}
	got, err := back.Verify(serverKey.Public().Crypto())
	if err != nil || got.ID != testTicket().ID {
		t.Errorf("the certificate's ticket: %+v, %v", got, err)
	}
	if _, ok, _ := TicketOf(f.batch.CA.Cert); ok {
		t.Error("the batch CA's certificate has a ticket")
	}
}
