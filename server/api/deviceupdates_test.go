package api

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"trustforge/crypto/audit"
	"trustforge/devices/fwupdate"
)

func deviceRecord(id string) fwupdate.Record {
	start := time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)
	return fwupdate.Record{
		ID: id, Started: start, Finished: start.Add(40 * time.Second), Technician: "technician1",
		Product: "sensor", Channel: "stable", Release: strings.Repeat("ab", 32), Version: "1.2.0",
		ImageSHA256: strings.Repeat("cd", 32),
		Board:       fwupdate.BoardInfo{Node: "site-7", Hardware: "test-board", Transport: "serial", FromVersion: "1.1.0"},
		Outcome:     fwupdate.Updated,
		Steps:       []fwupdate.Step{{Name: "upload", Started: start, Millis: 30000, OK: true}},
	}
}

func TestDeviceUpdateRecord(t *testing.T) {
	e := newEnv(t)
	id := strings.Repeat("0f", 16)
	var out map[string]string
	e.mustJSONOut("POST", "/api/device-updates", e.tokens["technician"], deviceRecord(id), 201, &out)
	if out["id"] != id {
		t.Errorf("answer %v, want the record id", out)
	}
	refused := deviceRecord(strings.Repeat("1e", 16))
	refused.Outcome, refused.Reason = fwupdate.Refused, "the board runs 1.3.0, newer than release 1.2.0"
	e.mustJSON("POST", "/api/device-updates", e.tokens["station"], refused, 201)

	resp := e.request("GET", "/api/audit", e.tokens["admin"], nil, nil)
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	if _, err := audit.Verify(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatalf("the audit log does not verify after device records: %v", err)
	}
	var got []audit.Entry
	r := audit.NewReader(bytes.NewReader(buf.Bytes()))
	for {
		en, err := r.Next()
		if err != nil {
			break
		}
		if en.Action == "device.update" {
			got = append(got, en)
		}
	}
	if len(got) != 2 {
		t.Fatalf("%d device.update entries, want 2", len(got))
	}
	first := got[0]
	if first.Subject != id || first.Actor != "technician1" || first.Detail["outcome"] != "updated" ||
		first.Detail["version"] != "1.2.0" || first.Detail["from"] != "1.1.0" || first.Detail["board"] != "site-7" ||
		first.Detail["started"] != "2026-02-01T09:00:00Z" {
		t.Errorf("first entry %+v", first)
	}
	if got[1].Actor != "station1" || got[1].Detail["outcome"] != "refused" || !strings.Contains(got[1].Detail["reason"], "newer") {
		t.Errorf("second entry %+v", got[1])
	}
}

func TestDeviceUpdateRefusesBadRecords(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		body any
		code string
	}{
		{"bad id", func() any { r := deviceRecord("short"); return r }(), "bad_field"},
		{"bad outcome", func() any { r := deviceRecord(strings.Repeat("0f", 16)); r.Outcome = "maybe"; return r }(), "bad_field"},
		{"too long", func() any {
			r := deviceRecord(strings.Repeat("0f", 16))
			r.Reason = strings.Repeat("x", fwupdate.MaxDetailLen+1)
			return r
		}(), "bad_field"},
		{"unknown field", map[string]any{"id": strings.Repeat("0f", 16), "firmware": "AAAA"}, "bad_json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code := errorCode(t, e.doJSON("POST", "/api/device-updates", e.tokens["technician"], tt.body)); code != tt.code {
				t.Errorf("code %q, want %q", code, tt.code)
			}
		})
	}
}
