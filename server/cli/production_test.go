package cli_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"trustforge/crypto/bundle"
	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
	"trustforge/crypto/pki"
	"trustforge/crypto/production"
)

func TestProductionInspectAndTicket(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	now := time.Now().UTC().Truncate(time.Second)
	rootKey, _ := keys.Generate(rand.Reader, keys.ECDSAP256)
	root, err := pki.NewRoot(rand.Reader, rootKey, pki.RootOptions{Organization: "Acme", Now: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	batchKey, _ := keys.Generate(rand.Reader, keys.ECDSAP256)
	batch, err := pki.NewBatch(rand.Reader, root, batchKey, pki.BatchOptions{Product: "thermo", Batch: "b1", NotBefore: now, NotAfter: now.Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	signKey, _ := keys.Generate(rand.Reader, keys.Ed25519)
	img, err := mcuimg.Sign(bytes.Repeat([]byte("fw"), 4096), &mcuimg.SignOptions{Key: signKey, Version: mcuimg.Version{Major: 1}, PadHeader: true, HeaderSize: 0x200})
	if err != nil {
		t.Fatal(err)
	}
	station, _ := age.GenerateX25519Identity()
	other, _ := age.GenerateX25519Identity()
	signer, _ := signKey.Signer()
	var tfp bytes.Buffer
	if _, err := production.Build(context.Background(), &tfp, production.BuildInput{
		Manifest: production.Manifest{Product: "thermo", Batch: "b1", Count: 8, NotBefore: now, Expires: now.Add(24 * time.Hour),
			Release: production.Release{ID: bundle.Digest{1}, Version: "1.0.0"}, ImageMode: production.ImageClear,
			CA: batch.Cert.Raw, Root: root.Cert.Raw, DFU: production.DFU{Address: 0x08020000, ReadOutProtection: true}},
		Image: img, CAKey: batchKey, Stations: []bundle.Recipient{station.Recipient()}, Key: signer,
	}); err != nil {
		t.Fatal(err)
	}
	pkgPath := write("order.tfp", tfp.Bytes())
	pubPath := write("release.pub.pem", signKey.Public().MarshalPEM())
	stationPath := write("station.agekey", []byte(station.String()+"\n"))
	otherPath := write("other.agekey", []byte(other.String()+"\n"))

	out := imgRunOK(t, "production", "inspect", "-k", pubPath, pkgPath)
	for _, want := range []string{"(trusted)", "order:      b1 of thermo: 8 devices", "payload:    verified", "programmed clear",
		"usb dfu:    an STM32 gets the image at 0x08020000; read-out protection set to RDP level 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect says:\n%s\nwant %q", out, want)
		}
	}
	out = imgRunOK(t, "production", "inspect", "-i", stationPath, pkgPath)
	if !strings.Contains(out, "payload:    opened") {
		t.Errorf("inspect with the station's identity:\n%s", out)
	}
	if code, _, errOut := imgRun(t, "production", "inspect", "-i", otherPath, pkgPath); code != 1 || !strings.Contains(errOut, "none of these identities opens the package") {
		t.Errorf("another identity: exit %d: %s", code, errOut)
	}
	changed := bytes.Clone(tfp.Bytes())
	changed[len(changed)-10] ^= 1
	if code, _, _ := imgRun(t, "production", "inspect", write("changed.tfp", changed)); code != 1 {
		t.Errorf("a changed package: exit %d", code)
	}

	// A device certificate with its ticket, and one without.
	ticketKey, _ := keys.Generate(rand.Reader, keys.Ed25519)
	tks, _ := ticketKey.Signer()
	keyPath := write("ticket.pub.pem", ticketKey.Public().MarshalPEM())
	device := "00aa11bb"
	st, err := production.SignTicket(rand.Reader, production.Ticket{ID: strings.Repeat("ab", 16), Package: strings.Repeat("cd", 32),
		Product: "thermo", Batch: "b1", Seq: 2, Count: 8, Device: device, Issued: now, Expires: now.Add(24 * time.Hour)}, tks)
	if err != nil {
		t.Fatal(err)
	}
	ext, _ := st.Extension()
	cert := func(id string, exts ...pkix.Extension) string {
		devKey, _ := keys.Generate(rand.Reader, keys.ECDSAP256)
		base, _ := pki.CAInfo{Cert: batch.Cert.Raw}.Subtree()
		subj, _ := pki.Template{}.Render(base, "thermo", id)
		serial, _ := pki.NewSerial(rand.Reader)
		c, err := pki.Issue(rand.Reader, batch, pki.DeviceCert{Subject: subj, Key: devKey.Public(), Serial: serial, Now: now, Extensions: exts})
		if err != nil {
			t.Fatal(err)
		}
		return write(id+"-"+hex.EncodeToString(serial.Bytes()[:4])+".pem", pki.CertPEM(c))
	}
	out = imgRunOK(t, "production", "ticket", "--key", keyPath, cert(device, ext))
	if !strings.Contains(out, "2 of 8 of order b1") || !strings.Contains(out, "for device "+device) {
		t.Errorf("ticket says: %s", out)
	}
	for _, tt := range []struct {
		name, cert, want string
	}{
		{"no ticket", cert(device), "carries no production ticket"},
		{"another device's ticket", cert("00cc", ext), "not valid for this certificate"},
	} {
		if code, _, errOut := imgRun(t, "production", "ticket", "--key", keyPath, tt.cert); code != 1 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%s: exit %d: %s", tt.name, code, errOut)
		}
	}
	if code, _, errOut := imgRun(t, "production", "ticket", "--key", keyPath, "--package", strings.Repeat("00", 32), cert(device, ext)); code != 1 || !strings.Contains(errOut, "another package") {
		t.Errorf("another package: exit %d: %s", code, errOut)
	}
}
