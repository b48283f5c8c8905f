package api

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"trustforge/internal/apiwire"
	"trustforge/server/internal/testbundle"
)

// TestRoleMatrix calls every endpoint as every role and with no
// credentials, and checks the exact allow/deny table: a denied call gets
// 401 (no credentials) or 403 (wrong role); an allowed one gets neither.
func TestRoleMatrix(t *testing.T) {
	// One letter per caller: admin, engineer, technician, station.
	// Anonymous callers are allowed only where the row says "public".
	want := map[string]string{
		"POST /api/enrol":                                           "public",
		"POST /api/session":                                         "public",
		"GET /api/session":                                          "YYYY",
		"DELETE /api/session":                                       "YYYY",
		"GET /api/tokens":                                           "YYYY",
		"POST /api/tokens":                                          "YYYY",
		"DELETE /api/tokens/{id}":                                   "YYYY",
		"PUT /api/recipient":                                        "YYYY",
		"GET /api/recipients":                                       "YYYn",
		"GET /api/admins":                                           "YYYY",
		"GET /api/users":                                            "Ynnn",
		"POST /api/users":                                           "Ynnn",
		"PATCH /api/users/{name}":                                   "Ynnn",
		"POST /api/users/{name}/tokens":                             "Ynnn",
		"GET /api/products":                                         "YYYn",
		"POST /api/products":                                        "Ynnn",
		"GET /api/products/{product}":                               "YYYn",
		"POST /api/products/{product}/channels":                     "Ynnn",
		"GET /api/products/{product}/keys":                          "YYYn",
		"POST /api/products/{product}/keys":                         "YYnn",
		"DELETE /api/products/{product}/keys/{fingerprint}":         "YYnn",
		"GET /api/products/{product}/channels/{channel}/latest":     "nYYY",
		"GET /api/products/{product}/device-roots":                  "YYYY",
		"POST /api/products/{product}/device-roots":                 "YYnn",
		"DELETE /api/products/{product}/device-roots/{fingerprint}": "YYnn",
		"GET /api/releases":                                         "YYYn",
		"POST /api/releases":                                        "nYnn",
		"GET /api/releases/{id}":                                    "YYYn",
		"POST /api/releases/{id}/promote":                           "nYnn",
		"POST /api/releases/{id}/yank":                              "nYnn",
		"GET /api/releases/{id}/manifest":                           "nYYY",
		"GET /api/releases/{id}/payload":                            "nYYY",
		"GET /api/releases/{id}/bundle":                             "nYYY",
		"GET /api/audit":                                            "Ynnn",
		"POST /api/device-updates":                                  "nYYY",
		"GET /api/devices":                                          "YYYY",
		"POST /api/devices":                                         "nYnY",
		"GET /api/devices/{id}":                                     "YYYY",
		"POST /api/devices/{id}/revoke":                             "YYnn",
		"PUT /api/devices/{id}/efuses":                              "nYnY",
		"POST /api/crls":                                            "YYnn",
		"GET /api/crls/{issuer}":                                    "public",
		"GET /api/products/{product}/summary":                       "YYYn",
		"POST /api/production/packages":                             "nYnn",
		"GET /api/production/packages":                              "YYnY",
		"GET /api/production/packages/{id}":                         "YYnY",
		"GET /api/production/packages/{id}/file":                    "YYnY",
		"GET /api/production/packages/{id}/tickets":                 "YYnY",
		"POST /api/production/packages/{id}/tickets":                "nnnY",
		"GET /api/production/ticket-key":                            "public",
	}
	e := newEnv(t)
	rel := e.publish(e.bundle(testbundle.Release{Version: "1.0.0", Counter: 1}))
	var tk apiwire.Token
	e.mustJSONOut("POST", "/api/tokens", e.tokens["technician"], map[string]string{"name": "spare"}, 201, &tk)

	fill := strings.NewReplacer("{id}", rel.ID, "{name}", "technician1", "{product}", "sensor",
		"{fingerprint}", "0000", "{channel}", "beta", "{issuer}", "00")
	bodies := map[string]any{
		"POST /api/enrol":                            map[string]string{"token": "tfe_x", "name": "x", "password": "long enough pw"},
		"POST /api/session":                          map[string]string{"name": "nobody", "password": "long enough pw"},
		"POST /api/tokens":                           map[string]string{"name": "matrix"},
		"PUT /api/recipient":                         map[string]string{"recipient": "not a recipient"},
		"POST /api/users":                            map[string]string{"name": "x", "role": "nope"},
		"PATCH /api/users/{name}":                    map[string]any{},
		"POST /api/users/{name}/tokens":              map[string]string{"name": "matrix"},
		"POST /api/products":                         map[string]any{"name": "-bad"},
		"POST /api/products/{product}/channels":      map[string]string{"name": "-bad"},
		"POST /api/products/{product}/keys":          map[string]string{"public_key": "not pem"},
		"POST /api/releases/{id}/promote":            map[string]string{"channel": "-bad"},
		"POST /api/releases/{id}/yank":               map[string]string{"reason": ""},
		"POST /api/device-updates":                   map[string]string{"id": "not a record id"},
		"POST /api/devices":                          map[string]string{"id": "not hex"},
		"POST /api/devices/{id}/revoke":              map[string]string{"reason": ""},
		"PUT /api/devices/{id}/efuses":               map[string]string{"mac": "not a mac"},
		"POST /api/crls":                             map[string]string{"crl": ""},
		"POST /api/production/packages/{id}/tickets": map[string]int{"count": 0},
	}

	seen := map[string]bool{}
	for _, rt := range e.srv.routeTable() {
		key := rt.Method + " " + rt.Pattern
		seen[key] = true
		row, ok := want[key]
		if !ok {
			t.Errorf("endpoint %s is missing from the role matrix", key)
			continue
		}
		path := fill.Replace(rt.Pattern)
		if rt.Pattern == "/api/tokens/{id}" {
			path = "/api/tokens/tk_0000000000000000" // exists for nobody: allowed callers get 404
		}
		for i, role := range []string{"", "admin", "engineer", "technician", "station"} {
			var body []byte
			if b := bodies[key]; b != nil {
				body, _ = jsonBodyBytes(b)
			} else if rt.Method == "POST" && rt.Pattern == "/api/releases" {
				body = []byte("not a bundle") // allowed callers get 400, not a new release
			}
			hdr := map[string]string{"Content-Type": "application/json"}
			resp := e.request(rt.Method, path, e.tokens[role], bytes.NewReader(body), hdr)
			got := resp.StatusCode
			code := ""
			if got == http.StatusUnauthorized || got == http.StatusForbidden {
				code = errorCode(t, resp)
			} else {
				resp.Body.Close()
			}
			var allowed bool
			if role == "" {
				allowed = row == "public"
			} else {
				allowed = row == "public" || row[i-1] == 'Y'
			}
			switch {
			case allowed && (code == "unauthenticated" || code == "forbidden"):
				t.Errorf("%s as %q: status %d %s, want allowed", key, role, got, code)
			case !allowed && role == "" && (got != http.StatusUnauthorized || code != "unauthenticated"):
				t.Errorf("%s with no credentials: status %d %s, want 401 unauthenticated", key, got, code)
			case !allowed && role != "" && (got != http.StatusForbidden || code != "forbidden"):
				t.Errorf("%s as %s: status %d %s, want 403 forbidden", key, role, got, code)
			}
		}
	}
	for key := range want {
		if !seen[key] {
			t.Errorf("matrix lists %s, which the server does not serve", key)
		}
	}
}

func jsonBodyBytes(v any) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(jsonBody(nil, v))
	return buf.Bytes(), err
}

// TestRoutesAreTheContract fails when the router and the contract
// (apiwire.Routes) disagree in either direction, or on a permission.
func TestRoutesAreTheContract(t *testing.T) {
	var s Server
	table := map[string]apiwire.Route{}
	for _, rt := range s.routeTable() {
		if _, dup := table[rt.String()]; dup {
			t.Errorf("%s is routed twice", rt)
		}
		table[rt.String()] = rt.Route
	}
	for _, want := range apiwire.Routes {
		got, ok := table[want.String()]
		switch {
		case !ok:
			t.Errorf("%s is in the contract but not routed", want)
		case got != want:
			t.Errorf("%s is routed as %+v, the contract says %+v", want, got, want)
		}
		delete(table, want.String())
	}
	for k := range table {
		t.Errorf("%s is routed but not in the contract (apiwire.Routes)", k)
	}
}
