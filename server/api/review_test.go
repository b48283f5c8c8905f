package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"trustforge/crypto/audit"
	"trustforge/crypto/bundle"
	"trustforge/crypto/keys"
	"trustforge/crypto/pki"
	"trustforge/internal/apiwire"
	"trustforge/server/auth"
	"trustforge/server/internal/testbundle"
	"trustforge/server/store"
)

// Regression tests for the findings of an outside review of the running
// server (issue 13). Each fails on the server as it was before.

// auditEntries returns the audit log's entries of action.
func (e *env) auditEntries(t *testing.T, action string) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	e.srv.store.AuditEntries(context.Background(), 0, func(en audit.Entry) error {
		if en.Action == action {
			out = append(out, en)
		}
		return nil
	})
	return out
}

// Finding 1: a station registered a board whose chain came from a CA it
// made itself, and so fixed the root the product trusted; genuine boards
// and production packages were refused from then on.
func TestRogueDeviceRootRefused(t *testing.T) {
	e := newEnv(t)
	genuine := newTestCA(t, e.clock.now())
	rogue := newTestCA(t, e.clock.now())
	reg := func(ca *testCA, id string) map[string]any {
		return map[string]any{"id": id, "product": "sensor", "chain": string(ca.issue(t, id).PEM())}
	}

	// Before any root is registered, no registration pins one.
	resp := e.doJSON("POST", "/api/devices", e.tokens["station"], reg(rogue, "0bad01"))
	if resp.StatusCode == 201 {
		t.Fatal("a station registered a board of its own CA for a product with no registered root")
	}
	resp.Body.Close()
	resp = e.doJSON("POST", "/api/devices", e.tokens["engineer"], reg(rogue, "0bad02"))
	if got := errorCode(t, resp); got != "no_trust_anchor" {
		t.Errorf("a board of a product without a registered root: %s, want no_trust_anchor", got)
	}

	// Registering a root is an engineer's or administrator's decision.
	body := map[string]string{"certificate": string(pki.CertPEM(rogue.root(t)))}
	for _, role := range []string{"station", "technician"} {
		if resp := e.doJSON("POST", "/api/products/sensor/device-roots", e.tokens[role], body); resp.StatusCode != 403 {
			t.Errorf("a %s registered a device root: %d", role, resp.StatusCode)
		}
	}
	e.addRoot(genuine.root(t))
	if n := len(e.auditEntries(t, "device_root.add")); n != 1 {
		t.Errorf("%d device_root.add audit entries, want 1", n)
	}

	// The rogue CA's boards are refused, to anyone; genuine boards pass.
	for _, role := range []string{"station", "engineer"} {
		resp := e.doJSON("POST", "/api/devices", e.tokens[role], reg(rogue, "0bad03"))
		if got := errorCode(t, resp); got != "untrusted_ca" {
			t.Errorf("%s registering a board of a rogue CA: %s, want untrusted_ca", role, got)
		}
	}
	e.mustJSON("POST", "/api/devices", e.tokens["engineer"], reg(genuine, "00c0de01"), 201)
	// A station registers only the boards of a production package it holds.
	resp = e.doJSON("POST", "/api/devices", e.tokens["station"], reg(genuine, "00c0de02"))
	if got := errorCode(t, resp); got != "not_in_order" {
		t.Errorf("a station registering a board outside any order: %s, want not_in_order", got)
	}

	// Re-pinning: a second root is added and the first revoked, audited.
	next := newTestCA(t, e.clock.now())
	e.addRoot(next.root(t))
	fp := hexSHA256(genuine.root(t).Raw)
	resp = e.request("DELETE", "/api/products/sensor/device-roots/"+fp, e.tokens["station"], nil, nil)
	if resp.StatusCode != 403 {
		t.Errorf("a station revoked a device root: %d", resp.StatusCode)
	}
	resp = e.request("DELETE", "/api/products/sensor/device-roots/"+fp, e.tokens["admin"], nil, nil)
	if resp.StatusCode != 204 {
		t.Fatalf("revoking a root: %d", resp.StatusCode)
	}
	if got := errorCode(t, e.doJSON("POST", "/api/devices", e.tokens["engineer"], reg(genuine, "00c0de03"))); got != "untrusted_ca" {
		t.Errorf("a board under a revoked root: %s, want untrusted_ca", got)
	}
	e.mustJSON("POST", "/api/devices", e.tokens["engineer"], reg(next, "00c0de04"), 201)
	var list struct{ Roots []apiwire.DeviceRoot }
	e.mustJSONOut("GET", "/api/products/sensor/device-roots", e.tokens["technician"], nil, 200, &list)
	if len(list.Roots) != 2 {
		t.Fatalf("%d roots after re-pinning, want 2", len(list.Roots))
	}
	for _, r := range list.Roots {
		revoked := r.Revoked != nil && r.RevokedBy == "root"
		if want := r.Fingerprint == fp; revoked != want {
			t.Errorf("root %s…: revoked %v by %q, want revoked %v", r.Fingerprint[:16], r.Revoked != nil, r.RevokedBy, want)
		}
	}
	if n := len(e.auditEntries(t, "device_root.revoke")); n != 1 {
		t.Errorf("%d device_root.revoke audit entries, want 1", n)
	}
	// A root must be a self-signed CA certificate, and only public.
	leaf := genuine.issue(t, "00c0de05")
	priv, _ := keys.Generate(nil, keys.ECDSAP256)
	privPEM, _ := priv.MarshalPEM()
	for name, cert := range map[string]string{"a device certificate": string(pki.CertPEM(leaf[0])),
		"an intermediate": string(pki.CertPEM(leaf[1])), "a whole chain": string(leaf.PEM()), "a private key": string(privPEM)} {
		resp := e.doJSON("POST", "/api/products/sensor/device-roots", e.tokens["engineer"], map[string]string{"certificate": cert})
		if resp.StatusCode != 400 {
			t.Errorf("%s as a root: %d, want 400", name, resp.StatusCode)
		}
		resp.Body.Close()
	}
}

// Finding 1, upgrade: a data directory whose product was pinned by its
// first board keeps working, with that root adopted as an audited anchor.
func TestPinnedRootAdoptedOnUpgrade(t *testing.T) {
	e := newEnv(t)
	ca := newTestCA(t, e.clock.now())
	chain := ca.issue(t, "00aa11bb")
	// A board registered before roots were registered: straight into the
	// store, as the old server did.
	d := store.Device{ID: "00aa11bb", Product: "sensor", Serial: "01", Issuer: "02", Subject: chain[0].Subject.String(),
		Chain: chain.DER(), Root: hexSHA256(chain[len(chain)-1].Raw), Provisioned: e.clock.now(), Operator: "station1"}
	if err := e.srv.store.RegisterDevice(context.Background(), d, audit.Event{}); err != nil {
		t.Fatal(err)
	}
	e.hs.Close()
	e.srv.Close()
	e2 := openEnv(t, e.dir)
	var list struct{ Roots []apiwire.DeviceRoot }
	resp := e2.request("GET", "/api/products/sensor/device-roots", e.tokens["engineer"], nil, nil)
	decode(t, resp, 200, &list)
	if len(list.Roots) != 1 || list.Roots[0].Fingerprint != d.Root || list.Roots[0].AddedBy != "trustforge" {
		t.Fatalf("roots after the upgrade: %+v", list.Roots)
	}
	if n := len(e2.auditEntries(t, "device_root.add")); n != 1 {
		t.Errorf("%d device_root.add entries, want 1", n)
	}
	e2.mustJSON("POST", "/api/devices", e.tokens["engineer"], map[string]any{"id": "00aa11cc", "product": "sensor",
		"chain": string(ca.issue(t, "00aa11cc").PEM())}, 201)
	// Opening again adopts nothing more.
	e2.hs.Close()
	e2.srv.Close()
	e3 := openEnv(t, e.dir)
	if n := len(e3.auditEntries(t, "device_root.add")); n != 1 {
		t.Errorf("reopening: %d device_root.add entries, want 1", n)
	}
}

// Finding 2: a station published another station's recipient as its own
// and took that station's tickets.
func TestStationCannotTakeAnotherStationsTickets(t *testing.T) {
	e := newEnv(t)
	o := newOrder(t, e)
	e.mustJSON("POST", "/api/users", e.tokens["admin"], map[string]string{"name": "station2", "role": "station"}, 201)
	var tk struct{ Token string }
	e.mustJSONOut("POST", "/api/users/station2/tokens", e.tokens["admin"], map[string]string{"name": "ci"}, 201, &tk)
	signer, _ := keys.NewPrivateKey(e.signer.Key)
	sig, _ := signer.Signer()
	var pkg apiwire.Package
	decode(t, o.upload(o.build(t, 3, []bundle.Recipient{o.station.Recipient()}, sig)), 201, &pkg)

	resp := e.doJSON("PUT", "/api/recipient", tk.Token, map[string]string{"recipient": o.station.Recipient().String()})
	if got := errorCode(t, resp); resp.StatusCode != 409 || got != "recipient_taken" {
		t.Errorf("publishing another account's recipient: %d %s, want 409 recipient_taken", resp.StatusCode, got)
	}
	path := "/api/production/packages/" + pkg.ID + "/tickets"
	resp = e.doJSON("POST", path, tk.Token, map[string]any{"count": 3})
	if got := errorCode(t, resp); resp.StatusCode != 403 || got != "wrong_station" {
		t.Errorf("another station taking the order's tickets: %d %s, want 403 wrong_station", resp.StatusCode, got)
	}
	var got ticketsOut
	e.mustJSONOut("POST", path, e.tokens["station"], map[string]any{"device": "00aa01"}, 201, &got)
	// The other station cannot register the order's boards either.
	resp = e.doJSON("POST", "/api/devices", tk.Token, o.device(t, "00aa01", got.Tickets[0].Signed))
	if code := errorCode(t, resp); code != "wrong_station" {
		t.Errorf("another station registering the order's board: %s, want wrong_station", code)
	}
	e.mustJSON("POST", "/api/devices", e.tokens["station"], o.device(t, "00aa01", got.Tickets[0].Signed), 201)
	// The package records the account it is bound to.
	ev := e.auditEntries(t, "production.publish")
	if len(ev) == 0 || ev[len(ev)-1].Detail["accounts"] != "station1" {
		t.Errorf("production.publish audit entry: %+v", ev)
	}
}

// signInFrom signs in as name from the client address addr and returns the
// status.
func (e *env) signInFrom(addr, name, pw string) int {
	e.t.Helper()
	b, _ := json.Marshal(map[string]string{"name": name, "password": pw})
	req := httptest.NewRequest("POST", "/api/session", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = addr + ":40000"
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec.Code
}

// Finding 3: one address sending a wrong password every 2.5 s kept the
// account locked out from every other address.
func TestSignInLockoutIsPerAddress(t *testing.T) {
	e := newEnv(t)
	e.mustJSON("PATCH", "/api/users/engineer1", e.tokens["admin"], map[string]string{"password": "the right password"}, 200)
	ok, limited := 0, 0
	for i := range 24 { // 60 s of attacks, a correct sign-in every 10 s
		if e.signInFrom("203.0.113.66", "engineer1", fmt.Sprintf("guess %d", i)) == 429 {
			limited++
		}
		if i%4 == 0 {
			if code := e.signInFrom("198.51.100.7", "engineer1", "the right password"); code == 200 {
				ok++
			} else {
				t.Errorf("at %v the owner's correct sign-in from another address got %d", time.Duration(i)*2500*time.Millisecond, code)
			}
		}
		e.clock.add(2500 * time.Millisecond)
	}
	if ok != 6 {
		t.Errorf("%d of 6 correct sign-ins got in", ok)
	}
	if limited == 0 {
		t.Error("the guessing address was never held back")
	}
	// A fresh address with the right password gets in even now, while the
	// guessing address stays backed off.
	if code := e.signInFrom("192.0.2.1", "engineer1", "the right password"); code != 200 {
		t.Errorf("a fresh address with the right password: %d", code)
	}
	if code := e.signInFrom("203.0.113.66", "engineer1", "the right password"); code != 429 {
		t.Errorf("the guessing address during its backoff: %d, want 429", code)
	}
}

// Finding 5: a device id matched its certificate by substring.
func TestDeviceIDMatchesCertificateExactly(t *testing.T) {
	e := newEnv(t)
	ca := newTestCA(t, e.clock.now())
	e.addRoot(ca.root(t))
	chain := ca.issue(t, "00112233445566778899aabb")
	for _, id := range []string{"aabb", "0011", "2233445566778899aabb", "00112233445566778899aa"} {
		resp := e.doJSON("POST", "/api/devices", e.tokens["engineer"], map[string]any{"id": id, "product": "sensor", "chain": string(chain.PEM())})
		if got := errorCode(t, resp); got != "wrong_device" {
			t.Errorf("certificate of 00112233445566778899aabb registered as %s: %s, want wrong_device", id, got)
		}
	}
	e.mustJSON("POST", "/api/devices", e.tokens["engineer"], map[string]any{"id": "00112233445566778899aabb", "product": "sensor", "chain": string(chain.PEM())}, 201)
	for _, tt := range []struct {
		name, product, id string
		want              bool
	}{
		{"sensor-00aa11bb", "sensor", "00aa11bb", true},
		{"urn:dev:ops:32473-sensor-00aa11bb", "sensor", "00aa11bb", true},
		{"sensor-00aa11bb", "sensor", "11bb", false},
		{"cafe-0011", "cafe", "cafe", false},
		{"cafe-0011", "cafe", "0011", true},
		{"00aa11bb.sensor", "sensor", "00aa11bb", true},
	} {
		if got := namesDevice(tt.name, tt.product, tt.id); got != tt.want {
			t.Errorf("namesDevice(%q, %q, %q) = %v, want %v", tt.name, tt.product, tt.id, got, tt.want)
		}
	}
}

// Finding 6: changing or removing a password left the account's other
// sessions signed in.
func TestPasswordChangeEndsSessions(t *testing.T) {
	for _, pw := range []string{"a new password 2", ""} {
		e := newEnv(t)
		e.mustJSON("PATCH", "/api/users/technician1", e.tokens["admin"], map[string]string{"password": "the old password"}, 200)
		cookie, _ := e.signIn("technician1", "the old password")
		admin, _ := e.signIn("root", "root password 1")
		e.mustJSON("PATCH", "/api/users/technician1", e.tokens["admin"], map[string]string{"password": pw}, 200)
		resp := e.doCookie("GET", "/api/session", cookie, "", nil)
		if resp.StatusCode != 401 {
			t.Errorf("password set to %q: the old session still answers %d", pw, resp.StatusCode)
		}
		resp.Body.Close()
		// The administrator who changed it stays signed in.
		resp = e.doCookie("GET", "/api/session", admin, "", nil)
		if resp.StatusCode != 200 {
			t.Errorf("the administrator's own session: %d", resp.StatusCode)
		}
		resp.Body.Close()
		// A change of role alone ends nothing.
		if pw != "" {
			cookie, _ = e.signIn("technician1", pw)
			e.mustJSON("PATCH", "/api/users/technician1", e.tokens["admin"], map[string]string{"role": "engineer"}, 200)
			resp = e.doCookie("GET", "/api/session", cookie, "", nil)
			if resp.StatusCode != 200 {
				t.Errorf("a role change ended the session: %d", resp.StatusCode)
			}
			resp.Body.Close()
		}
	}
}

// Finding 7: expiry times after 2262 overflowed the store's nanosecond
// clock: a token made to expire in 2300 was dead at once, and one in 2554
// wrapped to "never".
func TestExpiryBounds(t *testing.T) {
	e := newEnv(t)
	for _, exp := range []string{"2300-01-01T00:00:00Z", "2554-07-21T23:34:33.709551616Z", "9999-12-31T23:59:59Z"} {
		resp := e.request("POST", "/api/tokens", e.tokens["technician"], strings.NewReader(`{"name":"far","expires":"`+exp+`"}`),
			map[string]string{"Content-Type": "application/json"})
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !hasCode(b, "bad_field") || !strings.Contains(string(b), "expires") {
			t.Errorf("a token expiring %s: %d %s, want 400 bad_field on expires", exp, resp.StatusCode, b)
		}
	}
	// The latest accepted expiry works, and is kept as given.
	var tk apiwire.Token
	e.mustJSONOut("POST", "/api/tokens", e.tokens["technician"], map[string]any{"name": "long", "expires": maxExpiry}, 201, &tk)
	e.mustJSON("GET", "/api/session", tk.Secret, nil, 200)
	var toks struct{ Tokens []apiwire.Token }
	e.mustJSONOut("GET", "/api/tokens", tk.Secret, nil, 200, &toks)
	for _, x := range toks.Tokens {
		if x.ID == tk.ID && (x.Expires == nil || !x.Expires.Equal(maxExpiry)) {
			t.Errorf("stored expiry %v, want %v", x.Expires, maxExpiry)
		}
	}
}

// Finding 9: a request body shorter than its Content-Length got 500.
func TestShortBodyIs400(t *testing.T) {
	e := newEnv(t)
	tfb := e.bundle(testbundle.Release{Version: "1.0.0", Counter: 1, ImageSize: 64 << 10})
	for _, tt := range []struct {
		path, token, ctype string
		body               []byte
	}{
		{"/api/session", "", "application/json", []byte(`{"name":"x","pass`)},
		{"/api/releases", e.tokens["engineer"], "application/octet-stream", tfb[:len(tfb)-1000]}, // cut in the payload
		{"/api/releases", e.tokens["engineer"], "application/octet-stream", tfb[:40]},            // cut in the header
	} {
		c, err := net.Dial("tcp", strings.TrimPrefix(e.hs.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		hdr := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n", tt.path, tt.ctype, len(tt.body)+1000)
		if tt.token != "" {
			hdr += "Authorization: Bearer " + tt.token + "\r\n"
		}
		io.WriteString(c, hdr+"\r\n")
		c.Write(tt.body)
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(time.Minute))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 400 {
			t.Errorf("%s with %d of %d bytes: %d %s, want 400", tt.path, len(tt.body), len(tt.body)+1000, resp.StatusCode, b)
		}
		c.Close()
	}
	// Nothing was stored.
	var list struct{ Releases []releaseOutT }
	e.mustJSONOut("GET", "/api/releases", e.tokens["engineer"], nil, 200, &list)
	if len(list.Releases) != 0 {
		t.Errorf("%d releases stored from cut uploads", len(list.Releases))
	}
}

// Finding 11: sign-ins from a few addresses filled the two argon2id slots'
// queue and delayed everyone else's.
func TestPasswordChecksPerAddress(t *testing.T) {
	e := newEnv(t)
	// Hold both slots, as two long checks would.
	e.srv.hashSlots <- struct{}{}
	e.srv.hashSlots <- struct{}{}
	// One address may have two checks running or queued (several
	// people behind one NAT sign in at once), not more.
	first := make(chan int, 2)
	for i := range 2 {
		go func() { first <- e.signInFrom("203.0.113.9", "nobody", fmt.Sprint("guess ", i)) }()
	}
	for e.srv.hashing.held("203.0.113.9") < 2 {
		time.Sleep(time.Millisecond) // until both checks are queued
	}
	third := make(chan int, 1)
	go func() { third <- e.signInFrom("203.0.113.9", "nobody", "guess 3") }()
	select {
	case code := <-third:
		if code != 429 {
			t.Errorf("a third check queued from one address: %d, want 429", code)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("a third check from one address waits in the queue")
	}
	owner := make(chan int, 1)
	go func() { owner <- e.signInFrom("198.51.100.7", "root", "root password 1") }()
	<-e.srv.hashSlots
	<-e.srv.hashSlots
	for range 2 {
		if code := <-first; code != 401 {
			t.Errorf("a queued check: %d, want 401", code)
		}
	}
	if code := <-owner; code != 200 {
		t.Errorf("the owner's sign-in from another address: %d, want 200", code)
	}
}

var _ = auth.SignInPolicy{}
