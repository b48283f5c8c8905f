package stride

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const bootKey = "3f9a0000000000000000000000000000000000000000000000000000000000aa"

// healthy is a product configured as trustforge recommends.
func healthy() Facts {
	return Facts{
		Product: "thermo",
		Server: &ServerFacts{
			HTTPS:      true,
			Keys:       KeyFacts{Active: 1, Fingerprints: []string{bootKey}, Algorithms: []string{"ed25519"}},
			Releases:   ReleaseFacts{Total: 4, WithCounter: 4, Signers: 2, Uploaders: 2, Recipients: 3, Channels: 2},
			Devices:    DeviceFacts{Total: 120, WithBootKey: 120, WithRegisteredBootKey: 120, WithEncryptionKey: 120, Roots: 1, FromBatches: 8, WithTicket: 8, Updates: 40},
			Production: ProductionFacts{Packages: 1, Open: 1, Authorised: 8, Issued: 8, MaxBlock: 16},
			Accounts:   AccountFacts{Admins: 2, Engineers: 3, Technicians: 5, Stations: 1, Tokens: 2},
			Audit:      AuditFacts{Entries: 200, Head: "200 " + strings.Repeat("ab", 32)},
			Limits:     LimitFacts{MaxUpload: 2 << 30, MaxJSON: 64 << 10, SignInPerUser: 5, SignInPerAddress: 20},
		},
		Profile: &ProfileFacts{BootKeyHash: bootKey, EncryptImages: true, CRLURL: "https://pki.example.com/thermo.crl"},
	}
}

func TestModelShape(t *testing.T) {
	seen := map[string]bool{}
	per := map[Category]int{}
	for _, th := range Threats() {
		if seen[th.ID] {
			t.Errorf("threat id %s twice", th.ID)
		}
		seen[th.ID] = true
		per[th.Category]++
		if th.Title == "" || th.Threat == "" || th.Mitigation == "" || th.check == nil {
			t.Errorf("threat %s is incomplete", th.ID)
		}
		if want := strings.ToUpper(string(th.Category[:1])); !strings.HasPrefix(th.ID, want) {
			t.Errorf("threat %s of category %s: id should start with %s", th.ID, th.Category, want)
		}
	}
	for _, c := range Categories() {
		if per[c] == 0 {
			t.Errorf("category %s has no threat", c)
		}
	}
	// The threats the product team asked for are all there.
	for _, title := range []string{"Cloned device identity", "Forged firmware image", "Rollback to a vulnerable version",
		"Firmware disclosure from the server or in transit", "Repudiated release", "Over-production by the contract manufacturer",
		"Leaked signing or CA keys", "Flooding the server", "Privilege gained by a technician or station account"} {
		found := false
		for _, th := range Threats() {
			found = found || th.Title == title
		}
		if !found {
			t.Errorf("the model lacks %q", title)
		}
	}
}

func TestHealthyProductIsMitigated(t *testing.T) {
	p := Evaluate(healthy(), now)
	for _, s := range p.Sections {
		for _, th := range s.Threats {
			if th.Status.Level != OK {
				t.Errorf("%s %s: %s %q, want ok", th.ID, th.Title, th.Status.Level, th.Status.Text)
			}
		}
		if s.Level != OK {
			t.Errorf("section %s: %s, want ok", s.Category, s.Level)
		}
	}
	if p.ProfileSource != "console" {
		t.Errorf("profile source %q, want console", p.ProfileSource)
	}
}

// TestDeviceEncryptionToggle turns the profile's device encryption off and
// on and checks that the disclosure status follows.
func TestDeviceEncryptionToggle(t *testing.T) {
	f := healthy()
	for _, on := range []bool{true, false, true} {
		f.Profile.EncryptImages = on
		p := Evaluate(f, now)
		th, ok := p.Threat("I2")
		if !ok {
			t.Fatal("no threat I2")
		}
		wantLevel, wantText := OK, "device encryption on"
		if !on {
			wantLevel, wantText = Warn, "device encryption off ⚠"
		}
		if th.Status.Level != wantLevel || !strings.Contains(th.Status.Text, wantText) {
			t.Errorf("encrypt_images=%v: I2 is %s %q, want %s mentioning %q", on, th.Status.Level, th.Status.Text, wantLevel, wantText)
		}
		if got := p.Sections[3].Level; got != wantLevel {
			t.Errorf("encrypt_images=%v: information disclosure section %s, want %s", on, got, wantLevel)
		}
	}
}

func TestStatuses(t *testing.T) {
	tests := []struct {
		name   string
		change func(f *Facts)
		id     string
		level  Level
		text   string
	}{
		{"boot key on some devices", func(f *Facts) { f.Server.Devices.WithBootKey, f.Server.Devices.WithRegisteredBootKey = 118, 118 },
			"T1", Warn, "boot key provisioned on 118/120 devices"},
		{"boot key on every device", func(f *Facts) {}, "T1", OK, "images signed by 1 registered key; boot key provisioned on 120/120 devices"},
		{"no boot key in the profile", func(f *Facts) { f.Profile.BootKeyHash = "" }, "T1", Risk, "fuses no boot key"},
		{"boot key not a release key", func(f *Facts) { f.Profile.BootKeyHash = strings.Repeat("00", 32) }, "T1", Risk, "not an active release key"},
		{"no signing key", func(f *Facts) { f.Server.Keys = KeyFacts{} }, "T1", Risk, "no release-signing key"},
		{"no security counters", func(f *Facts) { f.Server.Releases.WithCounter = 0 }, "T3", Warn, "no release carries a security counter"},
		{"some security counters", func(f *Facts) { f.Server.Releases.WithCounter = 3 }, "T3", Warn, "only 3/4 releases"},
		{"passphrase release", func(f *Facts) { f.Server.Releases.Passphrase = 1 }, "I1", Warn, "1 opens with a passphrase only"},
		{"unlocked boards", func(f *Facts) { f.Profile.LeaveUnlocked = true }, "E3", Risk, "leaves boards unlocked"},
		{"unlocked boards and clones", func(f *Facts) { f.Profile.LeaveUnlocked = true }, "S1", Warn, "leaves boards unlocked"},
		{"no devices", func(f *Facts) { f.Server.Devices = DeviceFacts{} }, "S1", Warn, "no device registered yet"},
		{"two roots", func(f *Facts) { f.Server.Devices.Roots = 2 }, "S2", Risk, "2 different roots"},
		{"plain http", func(f *Facts) { f.Server.HTTPS = false }, "S3", Risk, "plain http"},
		{"eternal tokens", func(f *Facts) { f.Server.Accounts.NeverExpire = 2 }, "S3", Warn, "2 API tokens never expire"},
		{"device without ticket", func(f *Facts) { f.Server.Devices.FromBatches = 10 }, "E2", Risk, "2 devices from a batch CA without a valid ticket"},
		{"tickets counted", func(f *Facts) {}, "E2", OK, "8 tickets issued of 8 authorised in 1 open order"},
		{"revoked without CRL", func(f *Facts) { f.Server.Devices.Revoked = 3 }, "D3", Risk, "3 devices revoked but no revocation list"},
		{"no CRL URL", func(f *Facts) { f.Profile.CRLURL = "" }, "D3", Warn, "name no revocation list"},
		{"shared signing key", func(f *Facts) { f.Server.Releases.Signers = 1 }, "R1", Warn, "share one signing key"},
		{"encryption key missing", func(f *Facts) { f.Server.Devices.WithEncryptionKey = 100 }, "I2", Warn, "encryption key on 100/120 devices"},
		{"many admins", func(f *Facts) { f.Server.Accounts.Admins = 9 }, "E1", Warn, "many administrators"},
		{"sole admin publishes", func(f *Facts) {
			f.Server.Accounts = AccountFacts{Admins: 1, Engineers: 1, AdminEngineers: 1, Technicians: 2}
		}, "E1", Warn, "the only publisher is also the only administrator"},
		{"admin also publishes beside another engineer", func(f *Facts) {
			f.Server.Accounts = AccountFacts{Admins: 1, Engineers: 2, AdminEngineers: 1}
		}, "E1", OK, "1 administrator, 2 engineers"},
		{"no server facts", func(f *Facts) { f.Server = nil }, "T1", Unknown, "not known here"},
		{"no profile anywhere", func(f *Facts) { f.Profile = nil }, "E3", Unknown, "no provisioning profile"},
		{"profile from a package", func(f *Facts) {
			f.Profile = nil
			f.Server.Production.Profile = &ProfileFacts{BootKeyHash: bootKey, EncryptImages: false}
		}, "I2", Warn, "device encryption off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := healthy()
			tt.change(&f)
			th, ok := Evaluate(f, now).Threat(tt.id)
			if !ok {
				t.Fatalf("no threat %s", tt.id)
			}
			if th.Status.Level != tt.level || !strings.Contains(th.Status.Text, tt.text) {
				t.Errorf("%s: got %s %q, want %s containing %q", tt.id, th.Status.Level, th.Status.Text, tt.level, tt.text)
			}
			if th.Status.Level != OK && th.Status.Level != Unknown && th.Status.Action == "" {
				t.Errorf("%s: a %s status without an action", tt.id, th.Status.Level)
			}
		})
	}
}

func TestEmptyFactsNeverPanicOrPass(t *testing.T) {
	p := Evaluate(Facts{Product: "x"}, now)
	for _, s := range p.Sections {
		for _, th := range s.Threats {
			if th.Status.Level == OK {
				t.Errorf("%s is ok with no facts at all: %q", th.ID, th.Status.Text)
			}
		}
	}
	// Zero-valued facts (a brand new product) evaluate without panics.
	Evaluate(Facts{Product: "x", Server: &ServerFacts{}, Profile: &ProfileFacts{}}, now)
}

func TestWorst(t *testing.T) {
	for _, tt := range []struct{ a, b, want Level }{
		{OK, Warn, Warn}, {Risk, Warn, Risk}, {OK, Unknown, Unknown}, {Unknown, Warn, Warn}, {OK, OK, OK},
	} {
		if got := Worst(tt.a, tt.b); got != tt.want {
			t.Errorf("Worst(%s, %s) = %s, want %s", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestMarkdown(t *testing.T) {
	f := healthy()
	f.Product = "thermo|x"
	f.Profile.EncryptImages = false
	md := Evaluate(f, now).Markdown()
	for _, want := range []string{
		"# Security plan: thermo\\|x",
		"Generated 2026-03-01T12:00:00Z",
		"## Spoofing (authenticity)",
		"## Elevation of privilege (authorisation)",
		"| I2 | **Firmware extraction from a device's update**",
		"⚠ device encryption off ⚠",
		"*turn on \"encrypt images to each board\" in the provisioning profile*",
		"| ⚠ needs attention | 1 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	rows := 0
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| ") && strings.Count(line, " | ") >= 3 && !strings.HasPrefix(line, "| id ") {
			rows++
			if got := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|"); got != 5 {
				t.Errorf("table row with %d cell separators: %s", got, line)
			}
		}
	}
	if want := len(Threats()); rows != want {
		t.Errorf("%d threat rows, want %d", rows, want)
	}
}

func ExampleEvaluate() {
	f := Facts{
		Product: "thermo",
		Server: &ServerFacts{
			Keys:    KeyFacts{Active: 1, Fingerprints: []string{bootKey}},
			Devices: DeviceFacts{Total: 120, WithBootKey: 120, WithRegisteredBootKey: 120, WithEncryptionKey: 0, Roots: 1},
		},
		Profile: &ProfileFacts{BootKeyHash: bootKey, EncryptImages: false},
	}
	p := Evaluate(f, now)
	for _, id := range []string{"T1", "I2"} {
		th, _ := p.Threat(id)
		fmt.Printf("%s %s: %s %s\n", th.ID, th.Category.Title(), th.Status.Level.Symbol(), th.Status.Text)
	}
	// Output:
	// T1 Tampering: ✓ images signed by 1 registered key; boot key provisioned on 120/120 devices
	// I2 Information disclosure: ⚠ device encryption off ⚠: images reach boards encrypted only by the release's age layer, in the clear on the last hop; encryption key on 0/120 devices
}
