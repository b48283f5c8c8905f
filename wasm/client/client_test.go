//go:build !(js && wasm)

package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
	"trustforge/devices/esprom"
	"trustforge/internal/apiwire"
	"trustforge/internal/blocks"
	"trustforge/server/api"
	"trustforge/wasm/client"
	"trustforge/wasm/release"
)

// newServer runs the real release API over TLS (its session cookie is
// Secure) and returns a signed-in administrator's client.
func newServer(t *testing.T) (*httptest.Server, *client.Client) {
	t.Helper()
	ctx := context.Background()
	var log bytes.Buffer
	srv, err := api.Open(ctx, api.Config{DataDir: t.TempDir(), Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewTLSServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	m := regexp.MustCompile(`enrol#token=(tfe_[A-Za-z0-9_-]+)`).FindStringSubmatch(log.String())
	if m == nil {
		t.Fatalf("no enrolment link in %q", log.String())
	}
	admin := newClient(hs)
	post(t, admin, "/api/enrol", map[string]string{"token": m[1], "name": "root", "password": "root password 1"})
	if _, err := admin.SignIn(ctx, "root", "root password 1"); err != nil {
		t.Fatal(err)
	}
	return hs, admin
}

func newClient(hs *httptest.Server) *client.Client {
	hc := *hs.Client() // a cookie jar of its own: one client, one browser
	hc.Jar, _ = cookiejar.New(nil)
	return &client.Client{BaseURL: hs.URL, HTTP: &hc}
}

// post sends what the client has no method for (administration), with
// the session's CSRF token.
func post(t *testing.T, c *client.Client, path string, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", c.BaseURL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if s, err := c.Session(context.Background()); err == nil {
		req.Header.Set(client.CSRFHeader, s.CSRFToken)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: %s %s", path, resp.Status, msg)
	}
}

func TestClientAgainstTheServer(t *testing.T) {
	ctx := context.Background()
	hs, admin := newServer(t)
	post(t, admin, "/api/users", map[string]string{"name": "erin", "role": "engineer", "password": "erin password 1"})
	post(t, admin, "/api/users", map[string]string{"name": "tess", "role": "technician", "password": "tess password 1"})
	post(t, admin, "/api/products", map[string]any{"name": "thermo", "channels": []string{"beta", "stable"}})

	eng, tech := newClient(hs), newClient(hs)
	if _, err := eng.SignIn(ctx, "erin", "wrong password"); !errors.Is(err, apiwire.CodeBadCredentials) {
		t.Fatalf("wrong password: err = %v, want bad_credentials", err)
	}
	if _, err := eng.Session(ctx); err == nil {
		t.Fatal("a session without signing in")
	}
	s, err := eng.SignIn(ctx, "erin", "erin password 1")
	if err != nil || s.Role != "engineer" || s.CSRFToken == "" {
		t.Fatalf("SignIn = %+v, %v", s, err)
	}
	if _, err := tech.SignIn(ctx, "tess", "tess password 1"); err != nil {
		t.Fatal(err)
	}

	// The technician publishes a recipient; the engineer sees it.
	id, _ := age.GenerateX25519Identity()
	if _, err := tech.SetRecipient(ctx, id.String()); !errors.Is(err, apiwire.CodePrivateKey) {
		t.Errorf("publishing an identity: err = %v, want private_key", err)
	}
	if _, err := tech.SetRecipient(ctx, id.Recipient().String()); err != nil {
		t.Fatal(err)
	}
	rs, err := eng.Recipients(ctx)
	if err != nil || len(rs) != 1 || rs[0].User != "tess" || rs[0].Recipient != id.Recipient().String() {
		t.Fatalf("Recipients = %+v, %v", rs, err)
	}

	// The engineer registers a key and publishes.
	key, _ := keys.Generate(nil, keys.Ed25519)
	if _, err := tech.AddKey(ctx, "thermo", string(key.Public().MarshalPEM()), "x"); !errors.Is(err, apiwire.CodeForbidden) {
		t.Errorf("a technician registering a key: err = %v, want forbidden", err)
	}
	k, err := eng.AddKey(ctx, "thermo", string(key.Public().MarshalPEM()), "release key")
	if err != nil {
		t.Fatal(err)
	}
	built, err := release.Build(ctx, release.Input{
		Firmware: blocks.Of(bytes.Repeat([]byte("firmware"), 8192)), Key: key,
		Image:   mcuimg.SignOptions{HeaderSize: 0x200, PadHeader: true},
		Product: "thermo", Channel: "beta", Version: "1.0.0", Recipients: []string{rs[0].Recipient}, Now: time.Now(),
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var last, total int64
	// The bundle goes in its parts: the header, then the payload's.
	if n := len(built.Bundle.Blocks()); n < 2 {
		t.Fatalf("the bundle is in %d parts, want the header's and the payload's", n)
	}
	rel, err := eng.Publish(ctx, built.Bundle.Blocks(), func(sent, all int64) { last, total = sent, all })
	if err != nil {
		t.Fatal(err)
	}
	if last != built.Bundle.Len() || total != last {
		t.Errorf("progress ended at %d of %d, want %d", last, total, built.Bundle.Len())
	}
	if rel.Signer != k.Fingerprint || rel.Version != "1.0.0" {
		t.Errorf("release %+v", rel)
	}
	if _, err := eng.Publish(ctx, built.Bundle.Blocks(), nil); !errors.Is(err, apiwire.CodeExists) {
		t.Errorf("publishing twice: err = %v, want exists", err)
	}

	// The technician lists, verifies and opens it.
	list, err := tech.Releases(ctx, client.Filter{Product: "thermo"})
	if err != nil || len(list) != 1 {
		t.Fatalf("Releases = %d, %v", len(list), err)
	}
	ks, _ := tech.Keys(ctx, "thermo")
	signed, err := tech.Manifest(ctx, list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	c := release.Verify(list[0], signed, release.TrustedKeys(ks))
	if !c.Verified() {
		t.Fatalf("not verified: %v", c.Err)
	}
	payload, err := tech.Payload(ctx, list[0].ID, 1<<30, nil)
	if err != nil {
		t.Fatal(err)
	}
	img, err := release.Open(ctx, c, payload, []age.Identity{id}, nil, nil)
	if err != nil || !bytes.Equal(img, built.Image.Bytes()) {
		t.Fatalf("Open: %v (image equal: %v)", err, bytes.Equal(img, built.Image.Bytes()))
	}
	whole, err := tech.Bundle(ctx, list[0].ID, 1<<30, nil)
	if err != nil || !bytes.Equal(whole, built.Bundle.Bytes()) {
		t.Errorf("Bundle: %v (equal: %v)", err, bytes.Equal(whole, built.Bundle.Bytes()))
	}

	// Promote and yank, as the engineer.
	if _, err := tech.Promote(ctx, rel.ID, "stable"); !errors.Is(err, apiwire.CodeForbidden) {
		t.Errorf("a technician promoting: err = %v, want forbidden", err)
	}
	if p, err := eng.Promote(ctx, rel.ID, "stable"); err != nil || !p.OfferedOn("stable") {
		t.Errorf("Promote = %+v, %v", p.Offers, err)
	}
	if y, err := eng.Yank(ctx, rel.ID, "bad batch"); err != nil || y.Yanked == nil || y.Yanked.Reason != "bad batch" {
		t.Errorf("Yank = %+v, %v", y.Yanked, err)
	}
	if _, err := tech.Payload(ctx, rel.ID, 1<<30, nil); !errors.Is(err, apiwire.CodeYanked) {
		t.Errorf("download of a yanked release: err = %v, want yanked", err)
	}

	if err := eng.SignOut(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Session(ctx); err == nil {
		t.Error("still signed in after SignOut")
	}
}

// The console records an ESP32 board by its MAC twice (created, then
// updated after a burn) and finds it by MAC with the state it sent; a
// report that clears a burned eFuse comes back as efuse_regressed.
func TestRecordEFusesAgainstTheServer(t *testing.T) {
	ctx := context.Background()
	hs, admin := newServer(t)
	post(t, admin, "/api/users", map[string]string{"name": "erin", "role": "engineer", "password": "erin password 1"})
	post(t, admin, "/api/products", map[string]any{"name": "lamp", "channels": []string{"beta"}})
	eng := newClient(hs)
	if _, err := eng.SignIn(ctx, "erin", "erin password 1"); err != nil {
		t.Fatal(err)
	}
	st := esprom.SecurityState{Chip: "ESP32-C3"}
	for k := range 6 {
		st.KeyBlocks = append(st.KeyBlocks, esprom.KeyBlockState{Block: k, Purpose: "USER"})
	}
	rep := client.EFusesReport{Product: "lamp", Model: "ESP32-C3", Rev: "v0.4", MAC: "58:cf:79:0a:0b:0c", EFuses: st}
	d, err := eng.RecordEFuses(ctx, rep)
	if err != nil || d.ID != "58cf790a0b0c" || d.MAC != rep.MAC || d.EFuses == nil || d.EFusesUpdated == nil {
		t.Fatalf("first record: %+v, %v", d, err)
	}
	rep.EFuses.SecureBoot = true
	rep.EFuses.KeyBlocks[0] = esprom.KeyBlockState{Block: 0, Purpose: "SECURE_BOOT_DIGEST0", Digest: strings.Repeat("0f", 32), WriteProtected: true}
	if d, err = eng.RecordEFuses(ctx, rep); err != nil || !d.EFuses.SecureBoot {
		t.Fatalf("update: %+v, %v", d, err)
	}
	ds, err := eng.Devices(ctx, client.DeviceFilter{Query: "0a:0b:0c"})
	if err != nil || len(ds) != 1 || ds[0].EFuses.KeyBlocks[0].Digest != strings.Repeat("0f", 32) {
		t.Fatalf("search by MAC: %+v, %v", ds, err)
	}
	rep.EFuses.SecureBoot = false
	if _, err := eng.RecordEFuses(ctx, rep); !errors.Is(err, apiwire.CodeEFuseRegressed) {
		t.Errorf("clearing SECURE_BOOT_EN: %v, want efuse_regressed", err)
	}
}

// TestExpectSessionFetchesCSRF: after a reload the console's client has the
// session cookie but not its CSRF token until the tab's session check
// answers. A change made before that is refused, unless the client was
// told a session is expected: it then fetches the token itself.
func TestExpectSessionFetchesCSRF(t *testing.T) {
	ctx := context.Background()
	hs, admin := newServer(t)
	post(t, admin, "/api/users", map[string]string{"name": "tess", "role": "technician", "password": "tess password 1"})
	tab := newClient(hs)
	if _, err := tab.SignIn(ctx, "tess", "tess password 1"); err != nil {
		t.Fatal(err)
	}
	recipient := func() string {
		id, _ := age.GenerateX25519Identity()
		return id.Recipient().String()
	}
	// The reloaded tab: the same browser's cookies, a new client.
	reloaded := &client.Client{BaseURL: hs.URL, HTTP: tab.HTTP}
	if _, err := reloaded.SetRecipient(ctx, recipient()); !errors.Is(err, apiwire.CodeCSRF) {
		t.Fatalf("a change without the CSRF token: err = %v, want csrf", err)
	}
	reloaded = &client.Client{BaseURL: hs.URL, HTTP: tab.HTTP}
	reloaded.ExpectSession()
	if _, err := reloaded.SetRecipient(ctx, recipient()); err != nil {
		t.Fatalf("a change with a session expected: %v", err)
	}
	// A browser whose session ended: the change fails as signed out, and
	// the client expects no session any more.
	other := newClient(hs)
	other.ExpectSession()
	if _, err := other.SetRecipient(ctx, recipient()); !errors.Is(err, apiwire.CodeUnauthenticated) {
		t.Errorf("change with no session: err = %v, want unauthenticated", err)
	}
}
