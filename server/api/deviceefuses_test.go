package api

import (
	"encoding/json"
	"strings"
	"testing"

	"trustforge/devices/esprom"
)

// c3State is a blank ESP32-C3's security state.
func c3State() esprom.SecurityState {
	s := esprom.SecurityState{Chip: "ESP32-C3"}
	for k := range 6 {
		s.KeyBlocks = append(s.KeyBlocks, esprom.KeyBlockState{Block: k, Purpose: "USER"})
	}
	return s
}

type efusesBody struct {
	Product string               `json:"product"`
	Model   string               `json:"model,omitempty"`
	Rev     string               `json:"rev,omitempty"`
	MAC     string               `json:"mac"`
	EFuses  esprom.SecurityState `json:"efuses"`
}

type espDeviceOut struct {
	ID            string                `json:"id"`
	Product       string                `json:"product"`
	Model         string                `json:"model"`
	MAC           string                `json:"mac"`
	Serial        string                `json:"serial"`
	Operator      string                `json:"operator"`
	EFuses        *esprom.SecurityState `json:"efuses"`
	EFusesUpdated string                `json:"efuses_updated"`
}

// An ESP32 board is recorded by its MAC and eFuse state, updated as its
// eFuses are burned, found by its MAC, and refused when its report
// contradicts what was recorded.
func TestRecordEFuses(t *testing.T) {
	e := newEnv(t)
	const path = "/api/devices/58cf79000001/efuses"
	body := efusesBody{Product: "sensor", Model: "ESP32-C3", Rev: "v0.4", MAC: "58:cf:79:00:00:01", EFuses: c3State()}
	var d espDeviceOut
	e.mustJSONOut("PUT", path, e.tokens["engineer"], body, 201, &d)
	if d.ID != "58cf79000001" || d.MAC != body.MAC || d.Model != "ESP32-C3" || d.Serial != "" || d.Operator != "engineer1" ||
		d.EFuses == nil || d.EFuses.SecureBoot || d.EFusesUpdated == "" {
		t.Fatalf("recorded %+v", d)
	}

	burned := c3State()
	burned.SecureBoot = true
	burned.KeyBlocks[0] = esprom.KeyBlockState{Block: 0, Purpose: "SECURE_BOOT_DIGEST0", Digest: strings.Repeat("ab", 32), WriteProtected: true}
	burned.KeyBlocks[1] = esprom.KeyBlockState{Block: 1, Purpose: "XTS_AES_128_KEY", ReadProtected: true, WriteProtected: true}
	burned.FlashCryptCnt, burned.FlashEncryption, burned.FlashKeySource = 1, true, esprom.KeySourceUploaded
	body.EFuses = burned
	e.mustJSONOut("PUT", path, e.tokens["station"], body, 200, &d)
	if !d.EFuses.SecureBoot || d.EFuses.KeyBlocks[0].Digest != strings.Repeat("ab", 32) || d.Operator != "engineer1" {
		t.Errorf("after the burn: %+v", d)
	}

	var list struct{ Devices []espDeviceOut }
	for _, q := range []string{"58:cf:79:00:00:01", "79:00:00", "58cf79"} {
		e.mustJSONOut("GET", "/api/devices?q="+q, e.tokens["technician"], nil, 200, &list)
		if len(list.Devices) != 1 || list.Devices[0].MAC != body.MAC || !list.Devices[0].EFuses.FlashEncryption {
			t.Errorf("search %q: %+v", q, list.Devices)
		}
	}

	regressed := burned
	regressed.KeyBlocks = append([]esprom.KeyBlockState(nil), burned.KeyBlocks...)
	regressed.SecureBoot = false
	raw := func(s string) map[string]any {
		var m map[string]any
		json.Unmarshal([]byte(s), &m)
		return m
	}
	blank := c3State()
	for _, tt := range []struct {
		name   string
		path   string
		body   any
		status int
		code   string
	}{
		{"secure boot cleared", path, efusesBody{Product: "sensor", MAC: body.MAC, EFuses: regressed}, 409, "efuse_regressed"},
		{"another product", path, efusesBody{Product: "other", MAC: body.MAC, EFuses: burned}, 422, "unknown_product"},
		{"id is not the MAC", "/api/devices/58cf79000002/efuses", body, 400, "bad_field"},
		{"MAC in capitals", "/api/devices/58cf79000001/efuses", efusesBody{Product: "sensor", MAC: "58:CF:79:00:00:01", EFuses: burned}, 400, "bad_field"},
		{"no eFuses", path, map[string]any{"product": "sensor", "mac": body.MAC}, 400, "bad_field"},
		{"eFuses malformed", path, map[string]any{"product": "sensor", "mac": body.MAC, "efuses": raw(`{"chip":"ESP32-C3","flash_crypt_cnt":9}`)}, 400, "bad_field"},
		{"a flash key's bytes", path, map[string]any{"product": "sensor", "mac": body.MAC, "efuses": raw(
			`{"chip":"ESP32-C3","key_blocks":[{"block":0,"purpose":"XTS_AES_128_KEY","digest":"` + strings.Repeat("00", 32) + `"},` +
				`{"block":1,"purpose":"USER"},{"block":2,"purpose":"USER"},{"block":3,"purpose":"USER"},{"block":4,"purpose":"USER"},{"block":5,"purpose":"USER"}]}`)}, 400, "bad_field"},
		{"a technician", path, efusesBody{Product: "sensor", MAC: body.MAC, EFuses: burned}, 403, ""},
		{"a new board of no product", "/api/devices/58cf79000009/efuses", efusesBody{Product: "nope", MAC: "58:cf:79:00:00:09", EFuses: blank}, 422, "unknown_product"},
	} {
		tok := e.tokens["engineer"]
		if tt.name == "a technician" {
			tok = e.tokens["technician"]
		}
		resp := e.doJSON("PUT", tt.path, tok, tt.body)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.status)
			resp.Body.Close()
			continue
		}
		if code := errorCode(t, resp); tt.code != "" && code != tt.code {
			t.Errorf("%s: code %q, want %q", tt.name, code, tt.code)
		}
	}
	e.mustJSONOut("GET", "/api/devices/58cf79000001", e.tokens["technician"], nil, 200, &d)
	if !d.EFuses.SecureBoot {
		t.Errorf("a refused report changed the record: %+v", d.EFuses)
	}

	// Revoked, the board's record no longer changes.
	e.mustJSON("POST", "/api/devices/58cf79000001/revoke", e.tokens["engineer"], map[string]string{"reason": "keyCompromise"}, 200)
	if resp := e.doJSON("PUT", path, e.tokens["engineer"], body); resp.StatusCode != 409 || errorCode(t, resp) != "revoked" {
		t.Errorf("updating a revoked board: status %d", resp.StatusCode)
	}
}
