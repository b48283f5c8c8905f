package site

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"
)

func TestHealthChecks(t *testing.T) {
	var dbErr error
	s := New(Config{Version: "v9", Checks: map[string]func(context.Context) error{
		"database": func(context.Context) error { return dbErr },
		"blobs":    func(context.Context) error { return nil },
	}})
	get := func() (int, map[string]any) {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		return rec.Code, out
	}
	code, out := get()
	checks, _ := out["checks"].(map[string]any)
	if code != 200 || out["status"] != "ok" || checks["database"] != "ok" || checks["blobs"] != "ok" {
		t.Errorf("all up: %d %v", code, out)
	}
	dbErr = errors.New("store: connection refused")
	code, out = get()
	checks, _ = out["checks"].(map[string]any)
	if code != 503 || out["status"] != "unavailable: database" || checks["database"] != "store: connection refused" || checks["blobs"] != "ok" {
		t.Errorf("database down: %d %v", code, out)
	}
}
