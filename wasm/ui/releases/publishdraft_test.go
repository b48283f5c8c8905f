package releases

import (
	"fmt"
	"testing"

	"trustforge/crypto/vault"
	"trustforge/wasm/client"
)

// TestMergeRecipients: each recipient is offered once, the signed-in
// person's own first, whether it comes from the directory, the vault or
// both.
func TestMergeRecipients(t *testing.T) {
	dir := []client.Recipient{
		{User: "tess", Role: "technician", Recipient: "age1tess"},
		{User: "erin", Role: "engineer", Recipient: "age1erin"},
		{User: "line1", Role: "station", Recipient: "age1line"},
	}
	tests := []struct {
		name string
		user string
		dir  []client.Recipient
		keys []vault.Info
		want []string // "recipient own? here?" in order
	}{
		{"published and in the vault", "erin", dir,
			[]vault.Info{{Name: "laptop", Algorithm: vault.AgeX25519, Public: "age1erin"}, {Name: "sign", Algorithm: vault.Ed25519, Public: "PEM"}},
			[]string{"age1erin true true", "age1tess false false", "age1line false false"}},
		{"published, not in this vault", "erin", dir, nil,
			[]string{"age1erin true false", "age1tess false false", "age1line false false"}},
		{"in the vault only", "erin", dir[:1],
			[]vault.Info{{Name: "laptop", Algorithm: vault.AgeX25519, Public: "age1new"}},
			[]string{"age1new true true", "age1tess false false"}},
		{"someone else's key in my vault", "tess", dir,
			[]vault.Info{{Name: "copy", Algorithm: vault.AgeX25519, Public: "age1line"}},
			[]string{"age1tess true false", "age1line true true", "age1erin false false"}},
		{"directory lists one twice", "", append(dir[:1:1], dir[0]), nil,
			[]string{"age1tess false false"}},
		{"nothing", "erin", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range mergeRecipients(tt.user, tt.dir, tt.keys) {
				got = append(got, fmt.Sprintf("%s %v %v", r.Recipient.Recipient, r.Own, r.Here))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPublishDraft: the engineer's own recipient is ticked until they
// untick it, and another account starts from an empty draft.
func TestPublishDraft(t *testing.T) {
	d := NewDraft()
	d.forUser("erin")
	d.version = "1.2.3"
	d.offerOwn("age1erin")
	if !d.chosen["age1erin"] {
		t.Fatal("own recipient not ticked")
	}
	d.setChosen("age1erin", false)
	d.offerOwn("age1erin")
	if d.chosen["age1erin"] {
		t.Error("own recipient ticked again after the engineer unticked it")
	}
	d.forUser("erin")
	if d.version != "1.2.3" {
		t.Errorf("the same account's draft lost its version: %q", d.version)
	}
	d.forUser("tess")
	if d.version != "" || len(d.chosen) != 0 || d.headerSize != "0x200" || !d.padHeader {
		t.Errorf("another account's draft is %+v, want a fresh one", d)
	}
}
