//go:build !(js && wasm)

package guide

import (
	"strings"
	"testing"

	"trustforge/internal/apiwire"
	"trustforge/server/auth"
	"trustforge/wasm/state"
)

var (
	admin    = apiwire.RoleAdmin
	engineer = apiwire.RoleEngineer
	tech     = apiwire.RoleTechnician
	station  = apiwire.RoleStation
)

func viewer(roles ...state.Role) Viewer {
	return Viewer{SignedIn: true, User: "me", Roles: roles, Admins: []string{"ada"}}
}

func TestMinPasswordMatchesServer(t *testing.T) {
	if MinPasswordLen != auth.MinPasswordLen {
		t.Errorf("MinPasswordLen = %d, the server's is %d", MinPasswordLen, auth.MinPasswordLen)
	}
}

func TestNoProduct(t *testing.T) {
	tests := []struct {
		v    Viewer
		want string
	}{
		{viewer(admin), "Create one on Administration"},
		{viewer(admin, engineer), "Create one on Administration"},
		{viewer(engineer), "Ask an administrator (ada) to create one"},
		{Viewer{SignedIn: true, Roles: []state.Role{tech}, Admins: []string{"ada", "bob"}}, "Ask an administrator (ada or bob)"},
		{Viewer{SignedIn: true, Roles: []state.Role{tech}}, "Ask an administrator to create one"},
	}
	for _, tt := range tests {
		if got := NoProduct(tt.v); !strings.Contains(got, tt.want) {
			t.Errorf("NoProduct(%v) = %q, want it to contain %q", tt.v.Roles, got, tt.want)
		}
	}
}

func TestPageNote(t *testing.T) {
	tests := []struct {
		name       string
		page       Page
		v          Viewer
		can        string
		cannot     []string // each a substring of one Missing sentence, in order
		noneCannot bool
	}{
		{"technician on releases", PageReleases, viewer(tech), "As technician, you can list releases",
			[]string{"Sign, encrypt and publish releases, promote and yank them, and build production packages: engineers can. Ask an administrator (ada) for the engineer role"}, false},
		{"admin on releases", PageReleases, viewer(admin), "As administrator, you can list releases",
			[]string{"engineers can. Give your account (or a colleague's) the engineer role on Administration."}, false},
		{"solo on releases", PageReleases, viewer(admin, engineer), "As administrator and engineer, you can list releases and check their signatures in this browser and sign, encrypt", nil, true},
		{"engineer on admin", PageAdmin, viewer(engineer), "As engineer, you cannot use this page.",
			[]string{"Create accounts, set their roles and passwords, disable them and issue API tokens: administrators can. Ask an administrator (ada).",
				"Create products and add channels: administrators can.", "audit log: administrators can."}, false},
		{"station on update", PageUpdate, viewer(station), "As production station, you can download", nil, true},
		{"signed out on keys", PageKeys, Viewer{}, "Signed out, you can keep signing",
			[]string{"administrators and engineers can. Sign in first.", "administrators, engineers, technicians and production stations can. Sign in first."}, false},
		{"technician on identity", PageIdentity, viewer(tech), "you can run a device CA in this browser and keep provisioning profiles and search the device registry",
			[]string{"Provision a connected board and register it: engineers and production stations can. Ask an administrator (ada) for the engineer or production station role",
				"Revoke boards and publish revocation lists: administrators and engineers can."}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := PageNote(tt.page, tt.v)
			if !strings.Contains(n.Can, tt.can) {
				t.Errorf("Can = %q, want it to contain %q", n.Can, tt.can)
			}
			if tt.noneCannot && len(n.Cannot) != 0 {
				t.Errorf("Cannot = %+v, want none", n.Cannot)
			}
			if len(tt.cannot) > 0 && len(n.Cannot) != len(tt.cannot) {
				t.Fatalf("Cannot has %d entries, want %d: %+v", len(n.Cannot), len(tt.cannot), n.Cannot)
			}
			for i, want := range tt.cannot {
				if got := n.Cannot[i].Sentence(); !strings.Contains(got, want) {
					t.Errorf("Cannot[%d] = %q, want it to contain %q", i, got, want)
				}
			}
		})
	}
}

// TestEveryPageSaysSomething checks that each page has a note for every
// role and for nobody signed in, and that what a role cannot do always
// names who can and how.
func TestEveryPageSaysSomething(t *testing.T) {
	vs := []Viewer{{}, viewer(admin), viewer(engineer), viewer(tech), viewer(station), viewer(admin, engineer)}
	for page := range abilities {
		for _, v := range vs {
			n := PageNote(page, v)
			if n.Can == "" {
				t.Errorf("%s as %v: no Can sentence", page, v.Roles)
			}
			for _, m := range n.Cannot {
				if m.Who == "" || m.How == "" {
					t.Errorf("%s as %v: %+v lacks who or how", page, v.Roles, m)
				}
			}
		}
	}
}

func TestRolesPhrase(t *testing.T) {
	if got := RolesPhrase([]state.Role{tech, admin, engineer}); got != "administrator, engineer and technician" {
		t.Errorf("RolesPhrase = %q", got)
	}
	if got := AskAdmin([]string{"a", "b", "c", "d"}); got != "an administrator (a, b or c)" {
		t.Errorf("AskAdmin = %q", got)
	}
}

func TestPasswordStrength(t *testing.T) {
	tests := []struct {
		pw, name string
		want     Strength
	}{
		{"", "ada", TooShort},
		{"short", "ada", TooShort},
		{"123456789", "ada", TooShort},
		{"aaaaaaaaaaaa", "ada", Weak},
		{"adalovelace1", "ada", Weak},
		{"passwordxyz", "bob", Weak},
		{"Tr0ub4dor&3x", "bob", Fair},
		{"correct horse battery staple", "bob", Strong},
		{"kettle orbit lantern", "bob", Fair},
	}
	for _, tt := range tests {
		got, text := PasswordStrength(tt.pw, tt.name)
		if got != tt.want || text == "" {
			t.Errorf("PasswordStrength(%q) = %v %q, want %v", tt.pw, got, text, tt.want)
		}
	}
}

func ids(steps []Step) string {
	var out []string
	for _, s := range steps {
		mark := ""
		if s.Done {
			mark = "✓"
		}
		out = append(out, s.ID+mark)
	}
	return strings.Join(out, " ")
}

func TestChecklist(t *testing.T) {
	tests := []struct {
		name string
		f    Facts
		want string
	}{
		{"signed out", Facts{}, ""},
		{"fresh solo", Facts{Viewer: viewer(admin, engineer)}, "product vault signing-key register recipient release flash"},
		{"solo half way", Facts{Viewer: viewer(admin, engineer), Products: 1, VaultExists: true, SigningKeys: []string{"k1"}, Registered: []string{"k2"}},
			"product✓ vault✓ signing-key✓ register recipient release flash"},
		{"solo done", Facts{Viewer: viewer(admin, engineer), Products: 1, VaultExists: true, SigningKeys: []string{"k1"}, Registered: []string{"k1"},
			Recipients: 1, Releases: 2, Updated: 1}, "product✓ vault✓ signing-key✓ register✓ recipient✓ release✓ flash✓"},
		{"admin only", Facts{Viewer: viewer(admin), Products: 1, Accounts: 1}, "product✓ team"},
		{"engineer", Facts{Viewer: viewer(engineer), Products: 1}, "product✓ vault signing-key register recipient release flash"},
		{"technician", Facts{Viewer: viewer(tech), VaultExists: true, Recipients: 3}, "vault✓ own-recipient release flash"},
		{"technician done", Facts{Viewer: viewer(tech), VaultExists: true, OwnRecipient: true, Releases: 1, Updated: 1}, "vault✓ own-recipient✓ release✓ flash✓"},
		{"station", Facts{Viewer: viewer(station)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps := Checklist(tt.f)
			if got := ids(steps); got != tt.want {
				t.Errorf("Checklist = %q, want %q", got, tt.want)
			}
			for _, s := range steps {
				if s.Title == "" || s.Why == "" {
					t.Errorf("step %s lacks words: %+v", s.ID, s)
				}
			}
		})
	}
	steps := Checklist(Facts{Viewer: viewer(engineer)})
	if s, ok := Next(steps); !ok || s.ID != "product" || s.Link != "" || !strings.Contains(s.Why, "ada") {
		t.Errorf("an engineer's first step = %+v: want the product, asked of ada, with no link", s)
	}
	if AllDone(steps) {
		t.Error("AllDone on a fresh checklist")
	}
}

func TestCardLine(t *testing.T) {
	if got := CardLine(PageStation, viewer(engineer)); !strings.Contains(got, "production stations use it") || !strings.Contains(got, "ada") {
		t.Errorf("station card for an engineer: %q", got)
	}
	if got := CardLine(PageAdmin, viewer(tech)); !strings.HasPrefix(got, "Not for your roles: administrators use it. Ask an administrator (ada).") {
		t.Errorf("admin card for a technician: %q", got)
	}
	for _, page := range []Page{PageKeys, PageDevices, PageIdentity} {
		if got := CardLine(page, viewer(station)); got != "" {
			t.Errorf("%s card for a station: %q, want nothing (anyone can use part of it)", page, got)
		}
	}
	if got := CardLine(PageAdmin, Viewer{}); got != "" {
		t.Errorf("signed out: %q", got)
	}
	if p, ok := PageFor("admin"); !ok || p != PageAdmin {
		t.Error("PageFor(admin)")
	}
	if _, ok := PageFor("nope"); ok {
		t.Error("PageFor(nope)")
	}
}

func TestSectionNote(t *testing.T) {
	if got := SectionNote(viewer(tech), apiwire.PermPublish, "publishing releases"); got !=
		"Publishing releases: engineers can. Ask an administrator (ada) for the engineer role, or ask a colleague who has it." {
		t.Errorf("technician: %q", got)
	}
	if got := SectionNote(viewer(admin), apiwire.PermPublish, "publishing releases"); !strings.Contains(got, "Give your account (or a colleague's) the engineer role") {
		t.Errorf("administrator: %q", got)
	}
	if got := SectionNote(Viewer{}, apiwire.PermPublish, "publishing releases"); !strings.HasSuffix(got, "Sign in first.") {
		t.Errorf("signed out: %q", got)
	}
	if got := SectionNote(viewer(engineer), apiwire.PermPublish, "publishing releases"); got != "" {
		t.Errorf("engineer: %q, want nothing", got)
	}
}
