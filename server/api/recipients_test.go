package api

import (
	"net/http"
	"testing"

	"filippo.io/age"
)

func TestRecipientDirectory(t *testing.T) {
	e := newEnv(t)
	tech, _ := age.GenerateX25519Identity()
	station, _ := age.GenerateX25519Identity()
	var got recipientJSON
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
		Recipients []recipientJSON `json:"recipients"`
	}
	e.mustJSONOut("GET", "/api/recipients", e.tokens["engineer"], nil, 200, &list)
	if len(list.Recipients) != 2 {
		t.Fatalf("directory %+v, want 2 entries", list.Recipients)
	}
	byUser := map[string]recipientJSON{}
	for _, r := range list.Recipients {
		byUser[r.User] = r
	}
	if byUser["technician1"].Recipient != tech2.Recipient().String() || byUser["station1"].Role != "station" {
		t.Errorf("directory %+v", list.Recipients)
	}
}
