package api

import (
	"strings"
	"testing"

	"trustforge/internal/apiwire"
	"trustforge/server/internal/testbundle"
)

// TestFirstAccountAdministersAndPublishes enrols with no roles named: the
// account may manage accounts and publish, so one person on a bench needs
// no second account.
func TestFirstAccountAdministersAndPublishes(t *testing.T) {
	e := openEnv(t, t.TempDir())
	m := enrolLink.FindStringSubmatch(e.log.String())
	if m == nil {
		t.Fatal("no enrolment link")
	}
	var u apiwire.User
	e.mustJSONOut("POST", "/api/enrol", "", map[string]string{"token": m[1], "name": "solo", "password": "solo password 1"}, 201, &u)
	if u.Roles.String() != "admin,engineer" || u.Role != "admin,engineer" {
		t.Fatalf("enrolled roles = %q (role %q), want admin,engineer", u.Roles, u.Role)
	}
	cookie, csrf := e.signIn("solo", "solo password 1")
	var tk struct{ Token string }
	decode(t, e.doCookie("POST", "/api/tokens", cookie, csrf, map[string]string{"name": "bench"}), 201, &tk)
	e.tokens["solo"] = tk.Token
	e.mustJSON("POST", "/api/products", tk.Token, map[string]any{"name": "sensor", "channels": []string{"beta"}}, 201)
	e.mustJSON("POST", "/api/products/sensor/keys", tk.Token, map[string]string{"public_key": e.signer.PublicPEM()}, 201)
	if resp := e.upload(e.bundle(testbundle.Release{Version: "1.0.0", Counter: 1}), "solo"); resp.StatusCode != 201 {
		t.Errorf("the first account publishing: status %d, want 201", resp.StatusCode)
	}
	var sum struct {
		Accounts struct {
			Admins, Engineers int
			AdminEngineers    int `json:"admin_engineers"`
		}
	}
	e.mustJSONOut("GET", "/api/products/sensor/summary", tk.Token, nil, 200, &sum)
	if sum.Accounts.Admins != 1 || sum.Accounts.Engineers != 1 || sum.Accounts.AdminEngineers != 1 {
		t.Errorf("summary accounts = %+v, want the one account counted as admin and engineer", sum.Accounts)
	}
}

func TestEnrolRolesMustHoldAdmin(t *testing.T) {
	e := openEnv(t, t.TempDir())
	m := enrolLink.FindStringSubmatch(e.log.String())
	for _, roles := range [][]string{{"engineer"}, {}, {"admin", "root"}} {
		body := map[string]any{"token": m[1], "name": "x", "password": "long enough pw", "roles": roles}
		if code := errorCode(t, e.doJSON("POST", "/api/enrol", "", body)); code != "bad_field" {
			t.Errorf("enrol with roles %v: code %q, want bad_field", roles, code)
		}
	}
}

func TestAccountRoleSets(t *testing.T) {
	e := newEnv(t)
	admin := e.tokens["admin"]
	var u apiwire.User
	e.mustJSONOut("POST", "/api/users", admin, map[string]any{"name": "bench", "roles": []string{"technician", "engineer", "engineer"}}, 201, &u)
	if u.Roles.String() != "engineer,technician" {
		t.Errorf("created roles = %q, want engineer,technician", u.Roles)
	}
	e.mustJSONOut("POST", "/api/users", admin, map[string]string{"name": "old", "role": "station"}, 201, &u)
	if u.Roles.String() != "station" {
		t.Errorf("created with the role field: %q, want station", u.Roles)
	}
	for _, body := range []map[string]any{
		{"name": "a1", "roles": []string{}},
		{"name": "a2", "roles": []string{"root"}},
		{"name": "a3"},
		{"name": "a4", "role": "admin", "roles": []string{"admin"}},
		{"name": "a5", "role": "admin,nope"},
	} {
		if code := errorCode(t, e.doJSON("POST", "/api/users", admin, body)); code != "bad_field" {
			t.Errorf("create %v: code %q, want bad_field", body, code)
		}
	}
	e.mustJSONOut("PATCH", "/api/users/bench", admin, map[string]any{"roles": []string{"admin", "engineer"}}, 200, &u)
	if u.Roles.String() != "admin,engineer" {
		t.Errorf("updated roles = %q", u.Roles)
	}
	// The account's token now manages accounts too.
	var tk struct{ Token string }
	e.mustJSONOut("POST", "/api/users/bench/tokens", admin, map[string]string{"name": "t"}, 201, &tk)
	e.mustJSON("GET", "/api/users", tk.Token, nil, 200)
	// An administrator keeps their own admin role.
	if code := errorCode(t, e.doJSON("PATCH", "/api/users/bench", tk.Token, map[string]any{"roles": []string{"engineer"}})); code != "self_demotion" {
		t.Errorf("self-demotion: code %q", code)
	}
	e.mustJSON("PATCH", "/api/users/bench", tk.Token, map[string]any{"roles": []string{"admin"}}, 200)
	if resp := e.upload(e.bundle(testbundle.Release{Version: "1.0.0", Counter: 1}), "engineer"); resp.StatusCode != 201 {
		t.Errorf("engineer publishing: %d", resp.StatusCode)
	}
	e.tokens["bench"] = tk.Token
	if resp := e.upload(e.bundle(testbundle.Release{Version: "1.0.1", Counter: 1}), "bench"); resp.StatusCode != 403 {
		t.Errorf("admin-only account publishing: status %d, want 403", resp.StatusCode)
	}
}

func TestAdminsAreNamedToEveryone(t *testing.T) {
	e := newEnv(t)
	e.mustJSON("POST", "/api/users", e.tokens["admin"], map[string]any{"name": "second", "roles": []string{"admin", "technician"}}, 201)
	e.mustJSON("POST", "/api/users", e.tokens["admin"], map[string]any{"name": "gone", "roles": []string{"admin"}}, 201)
	e.mustJSON("PATCH", "/api/users/gone", e.tokens["admin"], map[string]any{"disabled": true}, 200)
	var out struct{ Admins []string }
	e.mustJSONOut("GET", "/api/admins", e.tokens["station"], nil, 200, &out)
	if strings.Join(out.Admins, " ") != "root second" {
		t.Errorf("admins = %v, want [root second]", out.Admins)
	}
}
