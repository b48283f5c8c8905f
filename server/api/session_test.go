package api

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"trustforge/crypto/audit"
	"trustforge/internal/apiwire"
	"trustforge/server/store"
)

func TestEnrolmentIsOneTimeAndOnlyWhileEmpty(t *testing.T) {
	if scaled {
		t.Skip("instances on a shared store keep a live link when one restarts: TestScaleOutEnrolmentOnce")
	}
	dir := t.TempDir()
	e := openEnv(t, dir)
	first := enrolLink.FindStringSubmatch(e.log.String())
	if first == nil || !strings.Contains(e.log.String(), "http://console.test/enrol#token=tfe_") {
		t.Fatalf("log lacks an enrolment link on the base URL:\n%s", e.log)
	}
	e.srv.Close()
	e.hs.Close()

	// Restarting before anyone enrolled issues a new link and voids the old.
	e = openEnv(t, dir)
	second := enrolLink.FindStringSubmatch(e.log.String())
	if second == nil || second[1] == first[1] {
		t.Fatalf("restart did not issue a fresh link:\n%s", e.log)
	}
	body := map[string]string{"token": first[1], "name": "root", "password": "root password 1"}
	if code := errorCode(t, e.doJSON("POST", "/api/enrol", "", body)); code != "enrolment_invalid" {
		t.Errorf("enrol with the voided link: code %q", code)
	}
	body["token"] = second[1]
	e.mustJSON("POST", "/api/enrol", "", body, 201)
	body["name"] = "root2"
	if code := errorCode(t, e.doJSON("POST", "/api/enrol", "", body)); code != "enrolment_invalid" {
		t.Errorf("second use of the link: code %q", code)
	}
	e.srv.Close()
	e.hs.Close()
	e = openEnv(t, dir)
	if strings.Contains(e.log.String(), "enrol") {
		t.Errorf("server with an account printed an enrolment link:\n%s", e.log)
	}
}

func TestCookieSessionAndCSRF(t *testing.T) {
	e := newEnv(t)
	resp := e.doJSON("POST", "/api/session", "", map[string]string{"name": "root", "password": "root password 1"})
	decode(t, resp, 200, nil)
	var c *http.Cookie
	for _, x := range resp.Cookies() {
		if x.Name == SessionCookie {
			c = x
		}
	}
	if c == nil || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
		t.Fatalf("session cookie = %+v, want Secure, HttpOnly, SameSite=Strict, Path=/", c)
	}
	cookie, csrf := e.signIn("root", "root password 1")

	var who apiwire.Session
	decode(t, e.doCookie("GET", "/api/session", cookie, "", nil), 200, &who)
	if who.User != "root" || who.Via != "session" || who.CSRFToken != csrf {
		t.Errorf("GET /api/session = %+v", who)
	}
	body := map[string]any{"name": "gizmo", "channels": []string{"beta"}}
	if code := errorCode(t, e.doCookie("POST", "/api/products", cookie, "", body)); code != "csrf" {
		t.Errorf("POST without CSRF token: code %q, want csrf", code)
	}
	if code := errorCode(t, e.doCookie("POST", "/api/products", cookie, "wrong", body)); code != "csrf" {
		t.Errorf("POST with wrong CSRF token: code %q, want csrf", code)
	}
	hdr := map[string]string{"Content-Type": "application/json", "Cookie": cookie.Name + "=" + cookie.Value,
		CSRFHeader: csrf, "Sec-Fetch-Site": "cross-site"}
	if code := errorCode(t, e.request("POST", "/api/products", "", jsonBody(t, body), hdr)); code != "cross_site" {
		t.Errorf("cross-site POST: code %q, want cross_site", code)
	}
	decode(t, e.doCookie("POST", "/api/products", cookie, csrf, body), 201, nil)

	// A cookie session's CSRF token is no bearer token, and vice versa.
	if resp := e.request("GET", "/api/session", csrf, nil, nil); resp.StatusCode != 401 {
		t.Errorf("CSRF token as bearer: status %d", resp.StatusCode)
	}
	resp = e.doCookie("DELETE", "/api/session", cookie, csrf, nil)
	decode(t, resp, 204, nil)
	if resp := e.doCookie("GET", "/api/session", cookie, "", nil); resp.StatusCode != 401 {
		t.Errorf("session after sign-out: status %d, want 401", resp.StatusCode)
	}

	// Sessions expire.
	cookie, _ = e.signIn("root", "root password 1")
	e.clock.add(13 * time.Hour)
	if resp := e.doCookie("GET", "/api/session", cookie, "", nil); resp.StatusCode != 401 {
		t.Errorf("session after 13h: status %d, want 401", resp.StatusCode)
	}
}

func TestSignInFailuresAndRateLimit(t *testing.T) {
	e := newEnv(t)
	e.mustJSON("PATCH", "/api/users/engineer1", e.tokens["admin"], map[string]string{"password": "engineer password"}, 200)
	bad := map[string]string{"name": "engineer1", "password": "wrong password!"}
	if code := errorCode(t, e.doJSON("POST", "/api/session", "", bad)); code != "bad_credentials" {
		t.Errorf("wrong password: code %q", code)
	}
	nobody := map[string]string{"name": "nobody", "password": "wrong password!"}
	if code := errorCode(t, e.doJSON("POST", "/api/session", "", nobody)); code != "bad_credentials" {
		t.Errorf("unknown user: code %q", code)
	}
	// station1 has no password: token-only accounts cannot sign in.
	if code := errorCode(t, e.doJSON("POST", "/api/session", "", map[string]string{"name": "station1", "password": "anything at all"})); code != "bad_credentials" {
		t.Errorf("token-only account: code %q", code)
	}
	var code string
	for i := 0; i < 10 && code != "rate_limited"; i++ {
		resp := e.doJSON("POST", "/api/session", "", bad)
		code = errorCode(t, resp)
		if code == "rate_limited" && resp.Header.Get("Retry-After") == "" {
			t.Error("rate-limited answer without Retry-After")
		}
	}
	if code != "rate_limited" {
		t.Fatalf("repeated failures never rate limited (last code %q)", code)
	}
	good := map[string]string{"name": "engineer1", "password": "engineer password"}
	if code := errorCode(t, e.doJSON("POST", "/api/session", "", good)); code != "rate_limited" {
		t.Errorf("right password while limited: code %q, want rate_limited", code)
	}
	e.clock.add(time.Minute)
	decode(t, e.doJSON("POST", "/api/session", "", good), 200, nil)

	// Disabling an account ends its sessions and tokens at once.
	e.mustJSON("PATCH", "/api/users/engineer1", e.tokens["admin"], map[string]bool{"disabled": true}, 200)
	if code := errorCode(t, e.request("GET", "/api/session", e.tokens["engineer"], nil, nil)); code != "account_disabled" {
		t.Errorf("token of disabled account: code %q", code)
	}
	if code := errorCode(t, e.doJSON("POST", "/api/session", "", good)); code != "bad_credentials" {
		t.Errorf("disabled account sign-in: code %q", code)
	}
	if code := errorCode(t, e.doJSON("PATCH", "/api/users/root", e.tokens["admin"], map[string]bool{"disabled": true})); code != "self_disable" {
		t.Errorf("admin disabling themselves: code %q", code)
	}
}

func TestTokens(t *testing.T) {
	e := newEnv(t)
	exp := e.clock.now().Add(time.Hour)
	var tk apiwire.Token
	e.mustJSONOut("POST", "/api/tokens", e.tokens["technician"], map[string]any{"name": "laptop", "expires": exp}, 201, &tk)
	if !strings.HasPrefix(tk.Secret, "tft_") || tk.User != "technician1" {
		t.Fatalf("created token = %+v", tk)
	}
	decode(t, e.request("GET", "/api/session", tk.Secret, nil, nil), 200, nil)
	var list struct{ Tokens []apiwire.Token }
	e.mustJSONOut("GET", "/api/tokens", tk.Secret, nil, 200, &list)
	if len(list.Tokens) != 2 || list.Tokens[0].Secret != "" || list.Tokens[1].Secret != "" {
		t.Errorf("token list = %+v (secrets must not be listed)", list.Tokens)
	}
	// Another user cannot see or revoke it; its owner and an admin can.
	e.mustJSON("DELETE", "/api/tokens/"+tk.ID, e.tokens["engineer"], nil, 404)
	e.clock.add(2 * time.Hour)
	if code := errorCode(t, e.request("GET", "/api/session", tk.Secret, nil, nil)); code != "bad_token" {
		t.Errorf("expired token: code %q", code)
	}
	e.mustJSON("DELETE", "/api/tokens/"+tk.ID, e.tokens["admin"], nil, 204)
	if code := errorCode(t, e.request("GET", "/api/session", "tft_garbage", nil, nil)); code != "bad_token" {
		t.Errorf("malformed token: code %q", code)
	}
}

func TestAuditExport(t *testing.T) {
	e := newEnv(t)
	resp := e.request("GET", "/api/audit", e.tokens["admin"], nil, nil)
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-ndjson") {
		t.Errorf("Content-Type = %q", ct)
	}
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	head, err := audit.Verify(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("export does not verify: %v", err)
	}
	if got := resp.Header.Get(AuditHeadHeader); got != strings.TrimSpace(formatHead(head)) {
		t.Errorf("%s = %q, want %q", AuditHeadHeader, got, formatHead(head))
	}
	var actions []string
	r := audit.NewReader(bytes.NewReader(buf.Bytes()))
	for {
		en, err := r.Next()
		if err != nil {
			break
		}
		actions = append(actions, en.Action)
	}
	want := "enrolment.issue user.enrol session.create token.create user.create token.create user.create token.create user.create token.create product.create key.add"
	if got := strings.Join(actions, " "); got != want {
		t.Errorf("audit actions:\n got %s\nwant %s", got, want)
	}
	// The store's own verifier agrees.
	if h, err := store.VerifyAudit(context.Background(), e.srv.store); err != nil || h != head {
		t.Errorf("VerifyAudit = %+v, %v; want %+v", h, err, head)
	}
}

func formatHead(h audit.Head) string {
	return strings.TrimSpace(strings.Join([]string{itoa(h.Seq), h.Hash.String()}, " "))
}

func itoa(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
