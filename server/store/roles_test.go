package store

import (
	"context"
	"path/filepath"
	"testing"
)

func TestParseRoles(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"admin", "admin", true},
		{"engineer,admin", "admin,engineer", true},
		{" station , technician,station", "technician,station", true},
		{"admin,engineer,technician,station", "admin,engineer,technician,station", true},
		{"", "", false},
		{"admin,", "", false},
		{"root", "", false},
		{"Admin", "", false},
	}
	for _, tt := range tests {
		got, err := ParseRoles(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseRoles(%q) error = %v, want ok %v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && got.String() != tt.want {
			t.Errorf("ParseRoles(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if rs := NewRoles("nope", RoleAdmin); rs.Valid() || rs.String() != "admin,nope" {
		t.Errorf("NewRoles with an unknown role = %q (valid %v), want it kept and refused", rs, rs.Valid())
	}
	if (Roles{}).Valid() {
		t.Error("the empty set is valid")
	}
}

// TestRolesRoundTrip stores an account holding two roles and reads it back,
// and reads an account written in the older one-role form.
func TestRolesRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	both := User{Name: "solo", Roles: NewRoles(RoleEngineer, RoleAdmin), PasswordHash: "h", Created: t0}
	if err := s.CreateUser(ctx, both, ev("user.create", "solo")); err != nil {
		t.Fatal(err)
	}
	// A row as a server before role sets wrote it, and one with a role a
	// later version may have removed.
	if _, err := s.db.ExecContext(ctx, `INSERT INTO users (name, role, password, disabled, created) VALUES ('old', 'technician', '', 0, 1), ('odd', 'root', '', 0, 1)`); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"solo": "admin,engineer", "old": "technician", "odd": ""} {
		u, err := s.User(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if u.Roles.String() != want {
			t.Errorf("user %s roles = %q, want %q", name, u.Roles, want)
		}
	}
	both.Roles = Roles{RoleEngineer}
	if err := s.UpdateUser(ctx, both, ev("user.update", "solo")); err != nil {
		t.Fatal(err)
	}
	us, err := s.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range us {
		if u.Name == "solo" && u.Roles.String() != "engineer" {
			t.Errorf("after update, roles = %q, want engineer", u.Roles)
		}
	}
}
