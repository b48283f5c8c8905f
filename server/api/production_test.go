package api

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"trustforge/crypto/bundle"
	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
	"trustforge/crypto/pki"
	"trustforge/crypto/production"
	"trustforge/crypto/vault"
	"trustforge/internal/apiwire"
	"trustforge/internal/stride"
	"trustforge/server/internal/testbundle"
)

// order is a production order under test: a published release, the
// stations' identities, and a batch of "sensor".
type order struct {
	e          *env
	batch      *pki.Batch
	image      []byte
	release    string
	station    *age.X25519Identity
	technician *age.X25519Identity
	ticketKey  crypto.PublicKey
}

func newOrder(t testing.TB, e *env) *order {
	t.Helper()
	o := &order{e: e}
	ctx := context.Background()
	st := mapStore{}
	v, err := vault.Create(ctx, st, "test passphrase", vault.Options{WorkFactor: 1})
	if err != nil {
		t.Fatal(err)
	}
	a := pki.New(st, v, pki.Options{Now: e.clock.now})
	if _, err := a.InitRoot(ctx, pki.RootOptions{Organization: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AddIntermediate(ctx, pki.IntermediateOptions{Product: "sensor"}); err != nil {
		t.Fatal(err)
	}
	if o.batch, err = a.NewBatch(ctx, pki.BatchOptions{Product: "sensor", Batch: "b1", NotAfter: e.clock.now().Add(10 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e.addRoot(o.batch.Root)
	signKey, _ := keys.NewPrivateKey(e.signer.Key)
	factory, _ := keys.Generate(rand.Reader, keys.X25519)
	o.image, err = mcuimg.Sign(bytes.Repeat([]byte("firmware"), 512), &mcuimg.SignOptions{Key: signKey, Version: mcuimg.Version{Major: 2},
		HeaderSize: 0x200, PadHeader: true, EncryptTo: factory.Public(), Clear: true})
	if err != nil {
		t.Fatal(err)
	}
	rid, _ := age.GenerateX25519Identity()
	var tfb bytes.Buffer
	if _, err := bundle.Create(ctx, &tfb, bytes.NewReader(o.image), bundle.Manifest{Product: "sensor", Channel: "beta",
		Version: bundle.Version{Major: 2}, Hardware: []string{}}, bundle.CreateOptions{Key: e.signer.Key,
		To: bundle.Recipients{Keys: []bundle.Recipient{rid.Recipient()}}, Now: e.clock.now}); err != nil {
		t.Fatal(err)
	}
	o.release = e.publish(tfb.Bytes()).ID
	for role, id := range map[string]**age.X25519Identity{"station": &o.station, "technician": &o.technician} {
		*id, _ = age.GenerateX25519Identity()
		e.mustJSON("PUT", "/api/recipient", e.tokens[role], map[string]string{"recipient": (*id).Recipient().String()}, 200)
	}
	resp, body := e.get("/api/production/ticket-key", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("ticket key: %d %s", resp.StatusCode, body)
	}
	k, err := keys.ParsePublicKey(body)
	if err != nil {
		t.Fatal(err)
	}
	o.ticketKey = k.Crypto()
	return o
}

// build makes a package of count devices for the recipients, signed by key.
func (o *order) build(t testing.TB, count int, to []bundle.Recipient, key crypto.Signer) []byte {
	t.Helper()
	rid, _ := bundle.ParseDigest(o.release)
	var out bytes.Buffer
	_, err := production.Build(context.Background(), &out, production.BuildInput{
		Manifest: production.Manifest{Product: "sensor", Batch: "b1", Count: count, NotBefore: o.batch.CA.Cert.NotBefore,
			Expires: o.e.clock.now().Add(7 * 24 * time.Hour).Truncate(time.Second), Release: production.Release{ID: rid, Version: "2.0.0"},
			ImageMode: production.ImageDevice, Profile: production.Profile{EncryptImages: true},
			CA: o.batch.CA.Cert.Raw, Root: o.batch.Root.Raw},
		Image: o.image, CAKey: o.batch.Key, Stations: to, Key: key, Now: o.e.clock.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func (o *order) upload(tfp []byte) *http.Response {
	return o.e.request("POST", "/api/production/packages", o.e.tokens["engineer"], bytes.NewReader(tfp), nil)
}

// device certifies a board under the batch, with ticket (or none).
func (o *order) device(t *testing.T, id string, ticket []byte) map[string]any {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, _ := keys.NewPublicKey(&k.PublicKey)
	base, _ := pki.CAInfo{Cert: o.batch.CA.Cert.Raw}.Subtree()
	subj, _ := pki.Template{}.Render(base, "sensor", id)
	signer, err := pki.BatchSigner(o.batch.CA.Cert, o.batch.Key)
	if err != nil {
		t.Fatal(err)
	}
	var exts []pkix.Extension
	if ticket != nil {
		st, err := production.ParseTicket(ticket)
		if err != nil {
			t.Fatal(err)
		}
		ext, _ := st.Extension()
		exts = append(exts, ext)
	}
	serial, _ := pki.NewSerial(rand.Reader)
	leaf, err := pki.Issue(rand.Reader, signer, pki.DeviceCert{Subject: subj, Key: pub, Serial: serial, Now: o.e.clock.now(), Extensions: exts})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"id": id, "product": "sensor", "chain": string(pki.Chain{leaf, o.batch.CA.Cert, o.batch.Root}.PEM())}
}

type ticketsOut = apiwire.Tickets

// TestProductionOrder runs an order of 3 devices through the server.
func TestProductionOrder(t *testing.T) {
	e := newEnv(t)
	o := newOrder(t, e)
	engineerSigner, _ := keys.NewPrivateKey(e.signer.Key)
	signer, _ := engineerSigner.Signer()

	// Addressed to a technician, or signed by an unregistered key: refused.
	code := func(resp *http.Response) string { return errorCode(t, resp) }
	if got := code(o.upload(o.build(t, 3, []bundle.Recipient{o.technician.Recipient()}, signer))); got != "not_station" {
		t.Errorf("a package for a technician: %s, want not_station", got)
	}
	if got := code(o.upload(o.build(t, 3, []bundle.Recipient{o.station.Recipient(), o.technician.Recipient()}, signer))); got != "not_station" {
		t.Errorf("a package for a station and a technician: %s, want not_station", got)
	}
	other := testbundle.NewSigner(9)
	if got := code(o.upload(o.build(t, 3, []bundle.Recipient{o.station.Recipient()}, other.Key))); got != "untrusted_key" {
		t.Errorf("a package signed by an unregistered key: %s, want untrusted_key", got)
	}
	tfp := o.build(t, 3, []bundle.Recipient{o.station.Recipient()}, signer)
	if got := code(o.e.request("POST", "/api/production/packages", e.tokens["engineer"], bytes.NewReader(tfp[:len(tfp)-1]), nil)); got != "payload_mismatch" {
		t.Errorf("a truncated package: %s, want payload_mismatch", got)
	}
	var pkg apiwire.Package
	decode(t, o.upload(tfp), 201, &pkg)
	if pkg.Count != 3 || pkg.Remaining != 3 || !pkg.Open || pkg.Release != o.release || pkg.PackageSize != int64(len(tfp)) {
		t.Errorf("package %+v", pkg)
	}
	if got := code(o.upload(tfp)); got != "exists" {
		t.Errorf("the same package again: %s", got)
	}
	// The station downloads it whole, and it opens with its identity alone.
	resp, body := e.get("/api/production/packages/"+pkg.ID+"/file", "station", nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, tfp) {
		t.Fatalf("download: %d, %d bytes", resp.StatusCode, len(body))
	}
	opts := production.OpenOptions{TrustedKeyIDs: []string{pkg.Signer}, Identities: []age.Identity{o.station}, Now: e.clock.now}
	if _, err := production.Open(context.Background(), bytes.NewReader(body), opts); err != nil {
		t.Errorf("the station cannot open its package: %v", err)
	}
	opts.Identities = []age.Identity{o.technician}
	if _, err := production.Open(context.Background(), bytes.NewReader(body), opts); err == nil {
		t.Error("the technician opened the package")
	}

	// Tickets: one for a device, a block of two, then the count is reached.
	path := "/api/production/packages/" + pkg.ID + "/tickets"
	var one, block ticketsOut
	e.mustJSONOut("POST", path, e.tokens["station"], map[string]any{"device": "00aa01"}, 201, &one)
	e.mustJSONOut("POST", path, e.tokens["station"], map[string]any{"count": 2, "request": "f00d-1"}, 201, &block)
	if len(one.Tickets) != 1 || one.Tickets[0].Seq != 1 || one.Remaining != 2 || len(block.Tickets) != 2 || block.Remaining != 0 {
		t.Errorf("tickets: %+v then %+v", one, block)
	}
	resp = e.doJSON("POST", path, e.tokens["station"], map[string]any{"device": "00aa04"})
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 409 || !hasCode(b, "count_reached") || !strings.Contains(string(b), "authorised count reached") {
		t.Errorf("a 4th ticket of 3: %d %s", resp.StatusCode, b)
	}
	// A device asked for again, after the count is reached: its ticket
	// once more (its first answer may have been lost), nothing counted.
	var again ticketsOut
	e.mustJSONOut("POST", path, e.tokens["station"], map[string]any{"device": "00aa01"}, 200, &again)
	if len(again.Tickets) != 1 || again.Tickets[0].ID != one.Tickets[0].ID || !bytes.Equal(again.Tickets[0].Signed, one.Tickets[0].Signed) ||
		again.Issued != 3 || again.Remaining != 0 {
		t.Errorf("device 00aa01 again: %+v, want its ticket %s, 3 issued", again, one.Tickets[0].ID)
	}
	// So is a named block.
	e.mustJSONOut("POST", path, e.tokens["station"], map[string]any{"count": 2, "request": "f00d-1"}, 200, &again)
	if len(again.Tickets) != 2 || again.Tickets[0].ID != block.Tickets[0].ID || again.Tickets[1].ID != block.Tickets[1].ID {
		t.Errorf("block f00d-1 again: %+v, want %+v", again, block)
	}
	if got := code(e.doJSON("POST", path, e.tokens["station"], map[string]any{"count": 1, "request": "f00d-1"})); got != "request_reused" {
		t.Errorf("block f00d-1 again for another count: %s, want request_reused", got)
	}
	for _, q := range []map[string]any{{"count": 1, "request": "a b"}, {"count": 1, "request": strings.Repeat("a", 65)}, {"device": "00aa01", "request": "x"}} {
		if got := code(e.doJSON("POST", path, e.tokens["station"], q)); got != "bad_field" {
			t.Errorf("ticket request %v: %s, want bad_field", q, got)
		}
	}
	for _, role := range []string{"engineer", "technician"} {
		if got := code(e.doJSON("POST", path, e.tokens[role], map[string]any{"device": "00aa05"})); got != "forbidden" {
			t.Errorf("tickets for a %s: %s", role, got)
		}
	}
	e.mustJSON("POST", "/api/users", e.tokens["admin"], map[string]string{"name": "station2", "role": "station"}, 201)
	var tk2 struct{ Token string }
	e.mustJSONOut("POST", "/api/users/station2/tokens", e.tokens["admin"], map[string]string{"name": "line"}, 201, &tk2)
	if got := code(e.doJSON("POST", path, tk2.Token, map[string]any{"device": "00aa05"})); got != "wrong_station" {
		t.Errorf("tickets for another station: %s, want wrong_station", got)
	}
	for _, tk := range append(one.Tickets, block.Tickets...) {
		st, err := production.ParseTicket(tk.Signed)
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.Verify(o.ticketKey)
		if err != nil || got.Package != pkg.ID || got.Count != 3 || got.Seq != tk.Seq || got.Device != tk.Device {
			t.Errorf("ticket %d: %+v, %v", tk.Seq, got, err)
		}
	}
	n := 0
	for _, a := range e.auditActions(t) {
		if a == "production.ticket" {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d production.ticket audit entries, want 3", n)
	}

	// Registration: a device needs its own valid, unused ticket.
	reg := func(id string, ticket []byte) string {
		resp := e.doJSON("POST", "/api/devices", e.tokens["station"], o.device(t, id, ticket))
		if resp.StatusCode == 201 {
			resp.Body.Close()
			return "201"
		}
		return code(resp)
	}
	for _, tt := range []struct {
		id     string
		ticket []byte
		want   string
	}{
		{"00aa01", one.Tickets[0].Signed, "201"},
		{"00aa09", nil, "no_ticket"},
		{"00aa02", one.Tickets[0].Signed, "no_ticket"},
		{"00aa02", block.Tickets[0].Signed, "201"},
		{"00aa03", block.Tickets[0].Signed, "ticket_used"},
		{"00aa03", block.Tickets[1].Signed, "201"},
	} {
		if got := reg(tt.id, tt.ticket); got != tt.want {
			t.Errorf("registering %s: %s, want %s", tt.id, got, tt.want)
		}
	}
	forged, _ := keys.Generate(rand.Reader, keys.Ed25519)
	fs, _ := forged.Signer()
	fake, _ := production.SignTicket(rand.Reader, production.Ticket{ID: strings.Repeat("0f", 16), Package: pkg.ID, Product: "sensor",
		Batch: "b1", Seq: 3, Count: 3, Issued: e.clock.now().Truncate(time.Second), Expires: pkg.Expires}, fs)
	if got := reg("00aa0a", fake.Bytes()); got != "no_ticket" {
		t.Errorf("a ticket signed by another key: %s, want no_ticket", got)
	}

	// The summary counts the order.
	var f stride.ServerFacts
	e.mustJSONOut("GET", "/api/products/sensor/summary", e.tokens["engineer"], nil, 200, &f)
	if f.Production.Packages != 1 || f.Production.Issued != 3 || f.Production.Authorised != 3 || f.Production.Refused != 1 ||
		f.Devices.FromBatches != 3 || f.Devices.WithTicket != 3 || f.Production.Profile == nil || !f.Production.Profile.EncryptImages {
		j, _ := json.Marshal(f)
		t.Errorf("summary %s", j)
	}
	if f.Keys.Active != 1 || f.Releases.Total != 1 || f.Accounts.Stations != 2 || !f.HTTPS || f.Audit.Entries == 0 {
		j, _ := json.Marshal(f)
		t.Errorf("summary %s", j)
	}

	// After the order's expiry, no more tickets.
	e.clock.add(8 * 24 * time.Hour)
	if got := code(e.doJSON("POST", path, e.tokens["station"], map[string]any{"device": "00aa07"})); got != "order_closed" {
		t.Errorf("a ticket after expiry: %s, want order_closed", got)
	}
}
