package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"trustforge/devices/esprom"
)

// RecordEFuses puts the report at the MAC's id and takes the server's 201
// (a new board) and 200 (an update) alike; an error answer is an *Error.
func TestRecordEFusesRequest(t *testing.T) {
	status := []int{201, 200, 409}
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rep EFusesReport
		if r.Method != "PUT" || r.URL.Path != "/api/devices/58cf79000001/efuses" || r.Header.Get("Authorization") != "Bearer tft_x" ||
			json.NewDecoder(r.Body).Decode(&rep) != nil || rep.MAC != "58:cf:79:00:00:01" || rep.EFuses.Chip != "ESP32-C3" {
			t.Errorf("request %s %s: %+v", r.Method, r.URL.Path, rep)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status[calls])
		calls++
		if calls == 3 {
			w.Write([]byte(`{"error":{"code":"efuse_regressed","message":"SECURE_BOOT_EN cleared"}}`))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"id": "58cf79000001", "mac": rep.MAC, "efuses": rep.EFuses})
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL, Token: "tft_x"}
	rep := EFusesReport{Product: "lamp", MAC: "58:cf:79:00:00:01", EFuses: esprom.SecurityState{Chip: "ESP32-C3", SecureBoot: true}}
	for i := range 2 {
		d, err := c.RecordEFuses(context.Background(), rep)
		if err != nil || d.ID != "58cf79000001" || d.EFuses == nil || !d.EFuses.SecureBoot {
			t.Fatalf("answer %d (status %d): %+v, %v", i, status[i], d, err)
		}
	}
	_, err := c.RecordEFuses(context.Background(), rep)
	if e, ok := err.(*Error); !ok || e.Status != 409 || e.Code != "efuse_regressed" {
		t.Errorf("refused report: %#v", err)
	}
}
