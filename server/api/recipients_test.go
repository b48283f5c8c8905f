package api

import (
	"bytes"
	"errors"
	"net/http"
	"testing"

	"filippo.io/age"

	"trustforge/crypto/bundle"
	"trustforge/internal/apiwire"
)

func TestRecipientDirectory(t *testing.T) {
	e := newEnv(t)
	tech, _ := age.GenerateX25519Identity()
	station, _ := age.GenerateX25519Identity()
	var got apiwire.Recipient
	e.mustJSONOut("PUT", "/api/recipient", e.tokens["technician"], map[string]string{"recipient": " " + tech.Recipient().String() + "\n"}, 200, &got)
	if got.User != "technician1" || got.Role != "technician" || got.Recipient != tech.Recipient().String() {
		t.Errorf("answer %+v", got)
	}
	e.mustJSON("PUT", "/api/recipient", e.tokens["station"], map[string]string{"recipient": station.Recipient().String()}, 200)
	// Publishing again replaces the recipient.
	tech2, _ := age.GenerateX25519Identity()
	e.mustJSON("PUT", "/api/recipient", e.tokens["technician"], map[string]string{"recipient": tech2.Recipient().String()}, 200)

	tests := []struct {
		name, recipient, code string
	}{
		{"identity", tech.String(), "private_key"},
		{"garbage", "hello", "bad_field"},
		{"empty", "", "bad_field"},
		{"ssh key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh0", "bad_field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.doJSON("PUT", "/api/recipient", e.tokens["technician"], map[string]string{"recipient": tt.recipient})
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
			if code := errorCode(t, resp); code != tt.code {
				t.Errorf("code %q, want %q", code, tt.code)
			}
		})
	}

	var list struct {
		Recipients []apiwire.Recipient `json:"recipients"`
	}
	e.mustJSONOut("GET", "/api/recipients", e.tokens["engineer"], nil, 200, &list)
	if len(list.Recipients) != 2 {
		t.Fatalf("directory %+v, want 2 entries", list.Recipients)
	}
	byUser := map[string]apiwire.Recipient{}
	for _, r := range list.Recipients {
		byUser[r.User] = r
	}
	if byUser["technician1"].Recipient != tech2.Recipient().String() || byUser["station1"].Role != "station" {
		t.Errorf("directory %+v", list.Recipients)
	}
}

// FuzzSetRecipientRequest feeds recipient bodies to the request parser:
// it never panics, and whatever it accepts is an age recipient.
func FuzzSetRecipientRequest(f *testing.F) {
	id, _ := age.GenerateX25519Identity()
	for _, s := range []string{
		`{"recipient":"` + id.Recipient().String() + `"}`,
		`{"recipient":"` + id.String() + `"}`,
		`{"recipient":"age1pq1"}`, `{"recipient":""}`, `{"recipient":1}`, `{}`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var q setRecipientRequest
		err := decodeBody(bytes.NewReader(body), 1<<14, &q)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest && e.Status != http.StatusRequestEntityTooLarge {
				t.Fatalf("error %v is not a 400 *Error", err)
			}
			return
		}
		if _, err := bundle.ParseRecipient(q.Recipient); err != nil {
			t.Fatalf("accepted %q, which is not a recipient", q.Recipient)
		}
	})
}
