package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"trustforge/crypto/bundle"
	"trustforge/crypto/keys"
	"trustforge/crypto/production"
	"trustforge/internal/apiwire"
	"trustforge/internal/testsvc"
	"trustforge/server/internal/testbundle"
	"trustforge/server/store"
)

// trustforge migrate copies a populated embedded data directory to
// PostgreSQL and S3: every release downloads byte-identical from a server
// on the copy, the audit chain verifies there (audit verify --db), tickets
// issued before still verify with the ticket key the copy serves, and a
// second run changes nothing.
func TestMigrateEmbeddedInstallation(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs trustforge processes")
	}
	if scaled {
		t.Skip("needs the embedded back end to migrate from")
	}
	// A populated embedded installation, served at the real time so the
	// server on the copy agrees with it.
	e := openEnvAt(t, t.TempDir(), time.Now().UTC().Truncate(time.Second)).setup()
	downloads := map[string][]byte{}
	for _, r := range []testbundle.Release{{Channel: "stable", Version: "1.0.0", Counter: 1, ImageSize: 3 << 20}, {Channel: "stable", Version: "1.1.0", Counter: 2}} {
		tfb := e.bundle(r)
		downloads[e.publish(tfb).ID] = tfb
	}
	o := newOrder(t, e)
	_, tfb := e.get("/api/releases/"+o.release+"/bundle", "technician", nil)
	downloads[o.release] = tfb
	engineer, _ := keys.NewPrivateKey(e.signer.Key)
	signer, _ := engineer.Signer()
	var pkg apiwire.Package
	decode(t, o.upload(o.build(t, 5, []bundle.Recipient{o.station.Recipient()}, signer)), 201, &pkg)
	var tks ticketsOut
	e.mustJSONOut("POST", "/api/production/packages/"+pkg.ID+"/tickets", e.tokens["station"], map[string]any{"device": "00aa01"}, 201, &tks)
	e.mustJSON("POST", "/api/devices", e.tokens["station"], o.device(t, "00aa01", tks.Tickets[0].Signed), 201)
	srcHead, err := store.VerifyAudit(context.Background(), e.srv.Store())
	if err != nil {
		t.Fatal(err)
	}
	e.hs.Close()
	e.srv.Close()

	db, bucket := testsvc.PostgresURL(t), testsvc.S3(t)
	kf := filepath.Join(t.TempDir(), "secret.key")
	key := sha256.Sum256([]byte("migrate test"))
	os.WriteFile(kf, []byte(hex.EncodeToString(key[:])), 0o600)
	migrate := func() string {
		t.Helper()
		cmd := exec.Command(trustforgeBin(t), "migrate", "--from", e.dir, "--to", db, "--blobs", bucket.URL("tf"), "--secret-key-file", kf)
		cmd.Env = append(os.Environ(), bucket.Env()...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("migrate: %v\n%s", err, out)
		}
		return string(out)
	}
	first := migrate()
	if !strings.Contains(first, "blobs: 4 copied, 0 already there") {
		t.Errorf("first migration:\n%s", first)
	}

	// A server on the copy.
	cmd := exec.Command(trustforgeBin(t), "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--web", fakeWeb(t),
		"--db", db, "--blobs", bucket.URL("tf"), "--secret-key-file", kf)
	cmd.Env = append(os.Environ(), bucket.Env()...)
	p := startProcCmd(t, cmd)
	for id, want := range downloads {
		resp, err := p.do("GET", "/api/releases/"+id+"/bundle", e.tokens["technician"], nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(got, want) {
			t.Errorf("release %s on the copy: %d, %d bytes, identical=%v", id, resp.StatusCode, len(got), bytes.Equal(got, want))
		}
	}
	resp, err := p.do("GET", "/api/production/ticket-key", "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pem, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	pub, err := keys.ParsePublicKey(pem)
	if err != nil {
		t.Fatalf("ticket key on the copy: %v", err)
	}
	st, err := production.ParseTicket(tks.Tickets[0].Signed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Verify(pub.Crypto()); err != nil {
		t.Errorf("a ticket issued before the migration does not verify with the copy's ticket key: %v", err)
	}

	verify := exec.Command(trustforgeBin(t), "audit", "verify", "--db", db)
	out, err := verify.CombinedOutput()
	if err != nil || !strings.Contains(string(out), srcHead.Hash.String()) {
		t.Errorf("audit verify --db: %v\n%s (source head %d %s)", err, out, srcHead.Seq, srcHead.Hash)
	}

	// A second run finds everything in place.
	second := migrate()
	if !regexp.MustCompile(`blobs: 0 copied, 4 already there`).MatchString(second) || !regexp.MustCompile(`rows: 0 copied`).MatchString(second) {
		t.Errorf("second migration changed something:\n%s", second)
	}
	out2, err := exec.Command(trustforgeBin(t), "audit", "verify", "--db", db).CombinedOutput()
	if err != nil || string(out2) != string(out) {
		t.Errorf("audit head moved with the second run: %s then %s", out, out2)
	}
}
