package production_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"time"

	"filippo.io/age"

	"trustforge/crypto/keys"
	"trustforge/crypto/production"
)

// ExampleSignTicket shows the release server's side of a ticket and the
// station's: the server signs a ticket for one device, the station puts
// it into the device's certificate, and anyone holding the server's
// ticket key checks it.
func ExampleSignTicket() {
	serverKey, _ := keys.Generate(rand.Reader, keys.Ed25519)
	signer, _ := serverKey.Signer()
	issued := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	st, err := production.SignTicket(rand.Reader, production.Ticket{
		ID: "0123456789abcdef0123456789abcdef", Package: "d69d285f5a2a1c7e38d12f7d0a4bb25e0d9e4f2e1c3b5a697887766554433221",
		Product: "thermo", Batch: "2026-03-line2", Seq: 1, Count: 8, Device: "00112233445566778899aabb",
		Issued: issued, Expires: issued.Add(14 * 24 * time.Hour),
	}, signer)
	if err != nil {
		log.Fatal(err)
	}
	ext, _ := st.Extension() // pki.DeviceCert.Extensions carries it into the certificate
	t, err := st.Verify(serverKey.Public().Crypto())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ext.Id, t.Seq, "of", t.Count, "for", t.Device)
	fmt.Println(t.For(t.Package, "00112233445566778899aabb", issued.Add(time.Hour)))
	// Output:
	// 1.3.6.1.4.1.32473.1.1 1 of 8 for 00112233445566778899aabb
	// <nil>
}

// ExampleOpen is the station's side of a package: open it with the
// station's age identity, trusting the signer the server verified. An
// empty download, as here, is refused.
func ExampleOpen() {
	var tfp []byte                    // the .tfp the station downloaded
	var stationID *age.X25519Identity // from the station's vault
	var signer crypto.PublicKey       // a release key of the product
	p, err := production.Open(context.Background(), bytes.NewReader(tfp), production.OpenOptions{
		Trusted:    []crypto.PublicKey{signer},
		Identities: []age.Identity{stationID},
	})
	if err != nil {
		// Here the download is empty: refused before anything is
		// decrypted. Others are ErrNotForYou, ErrModified, ErrExpired, ...
		fmt.Println(errors.Is(err, production.ErrMalformed))
		return
	}
	fmt.Println(p.Manifest.Count, "devices of", p.Manifest.Product, "until", p.Manifest.Expires)
	// Output: true
}
