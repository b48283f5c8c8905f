package auth

import (
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"trustforge/internal/apiwire"
	"trustforge/server/store"
)

var cheap = Argon2Params{Memory: 64, Time: 1, Threads: 1}

func TestPasswordRoundTrip(t *testing.T) {
	h, err := HashPassword(rand.Reader, cheap, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("hash = %q, want a PHC argon2id string", h)
	}
	tests := []struct {
		pw   string
		want bool
	}{
		{"correct horse battery", true},
		{"correct horse batterY", false},
		{"", false},
		{strings.Repeat("x", MaxPasswordLen+1), false},
	}
	for _, tt := range tests {
		if got, err := CheckPassword(h, tt.pw); got != tt.want || err != nil {
			t.Errorf("CheckPassword(%.20q) = %v, %v; want %v", tt.pw, got, err, tt.want)
		}
	}
	h2, _ := HashPassword(rand.Reader, cheap, "correct horse battery")
	if h == h2 {
		t.Error("two hashes of one password are equal: salt not random")
	}
}

func TestKnownArgon2Hash(t *testing.T) {
	// Made with the reference argon2 CLI: echo -n password12 | argon2 saltsalt -id -t 1 -m 6 -p 1 -l 32 -e (Debian package argon2)
	const h = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$eZVsuyNDJP7umge7KC6QsFskmVT4OCiVhZP/c+VDNuI"
	ok, err := CheckPassword(h, "password12")
	if err != nil || !ok {
		t.Errorf("CheckPassword(reference hash) = %v, %v; want true", ok, err)
	}
}

func TestCheckPasswordBadHash(t *testing.T) {
	for _, h := range []string{"", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=0,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"} {
		if _, err := CheckPassword(h, "password12"); err != ErrBadHash {
			t.Errorf("CheckPassword(%q) err = %v, want ErrBadHash", h, err)
		}
	}
}

func TestSecrets(t *testing.T) {
	s, h, err := NewSecret(rand.Reader, TokenPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if !WellFormed(s, TokenPrefix) || WellFormed(s, SessionPrefix) || WellFormed(s+"x", TokenPrefix) {
		t.Errorf("WellFormed misjudges %q", s)
	}
	if string(HashSecret(s)) != string(h) {
		t.Error("HashSecret differs from NewSecret's hash")
	}
	if !CheckCSRF(s, CSRFToken(s)) || CheckCSRF(s, "") || CheckCSRF(s, CSRFToken(s+"x")) {
		t.Error("CheckCSRF misjudges")
	}
}

func TestLimiter(t *testing.T) {
	l := &Limiter{Burst: 3, Every: 10 * time.Second, MaxKeys: 2}
	t0 := time.Unix(1000, 0)
	for i := 0; i < 3; i++ {
		if ok, _ := l.Allow("alice", t0); !ok {
			t.Fatalf("attempt %d refused within burst", i+1)
		}
	}
	ok, wait := l.Allow("alice", t0)
	if ok || wait != 10*time.Second {
		t.Errorf("4th attempt = %v, wait %v; want refused, 10s", ok, wait)
	}
	if ok, _ := l.Allow("bob", t0); !ok {
		t.Error("bob limited by alice's attempts")
	}
	if ok, _ := l.Allow("alice", t0.Add(10*time.Second)); !ok {
		t.Error("alice still limited after refill")
	}
	for i := 0; i < 100; i++ {
		l.Allow(string(rune('a'+i%26))+"x", t0)
	}
	if n := len(l.buckets); n > 2 {
		t.Errorf("limiter holds %d keys, MaxKeys is 2", n)
	}
}

func TestAllowedTable(t *testing.T) {
	roles := []store.Role{store.RoleAdmin, store.RoleEngineer, store.RoleTechnician, store.RoleStation, "intruder"}
	want := map[Permission]string{ // one letter per role above: admin engineer technician station intruder
		apiwire.PermSelf:       "YYYYn",
		apiwire.PermUsers:      "Ynnnn",
		apiwire.PermProducts:   "Ynnnn",
		apiwire.PermKeys:       "YYnnn",
		apiwire.PermAudit:      "Ynnnn",
		apiwire.PermRead:       "YYYnn",
		apiwire.PermPublish:    "nYnnn",
		apiwire.PermPromote:    "nYnnn",
		apiwire.PermYank:       "nYnnn",
		apiwire.PermDownload:   "nYYYn",
		apiwire.PermDevices:    "YYYYn",
		apiwire.PermProvision:  "nYnYn",
		apiwire.PermRevoke:     "YYnnn",
		apiwire.PermProduction: "YYnYn",
		apiwire.PermProduce:    "nnnYn",
		"unknown":              "nnnnn",
	}
	for perm, row := range want {
		for i, r := range roles {
			if got := RoleAllowed(r, perm); got != (row[i] == 'Y') {
				t.Errorf("RoleAllowed(%s, %s) = %v, want %v", r, perm, got, !got)
			}
			if got := Allowed(store.Roles{r}, perm); got != (row[i] == 'Y') {
				t.Errorf("Allowed({%s}, %s) = %v, want %v", r, perm, got, !got)
			}
		}
	}
}

// TestAllowedSet checks that a set of roles may do what any of its roles
// may, and nothing else; the empty set may do nothing.
func TestAllowedSet(t *testing.T) {
	solo := store.NewRoles(store.RoleAdmin, store.RoleEngineer)
	for _, perm := range Permissions {
		want := RoleAllowed(store.RoleAdmin, perm) || RoleAllowed(store.RoleEngineer, perm)
		if got := Allowed(solo, perm); got != want {
			t.Errorf("Allowed(admin+engineer, %s) = %v, want %v", perm, got, want)
		}
		if Allowed(nil, perm) {
			t.Errorf("Allowed(no roles, %s) = true", perm)
		}
	}
	if !Allowed(solo, apiwire.PermPublish) || !Allowed(solo, apiwire.PermUsers) || Allowed(solo, apiwire.PermProduce) {
		t.Error("admin+engineer: want publish and users, not produce")
	}
}
