package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func testRecipients(t *testing.T, openTest opener) {
	ctx := context.Background()
	s := openTest(t)
	for _, u := range []User{
		{Name: "tess", Roles: Roles{RoleTechnician}, Created: t0},
		{Name: "line1", Roles: Roles{RoleStation}, Created: t0},
		{Name: "gone", Roles: Roles{RoleTechnician}, Created: t0},
	} {
		if err := s.CreateUser(ctx, u, ev("user.create", u.Name)); err != nil {
			t.Fatal(err)
		}
	}
	before := auditCount(t, s)
	set := func(user, rcpt string, at time.Time) error {
		return s.SetRecipient(ctx, Recipient{User: user, Recipient: rcpt, Updated: at}, ev("recipient.set", user))
	}
	if err := set("tess", "age1first", t0); err != nil {
		t.Fatal(err)
	}
	if err := set("tess", "age1second", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := set("line1", "age1line", t0); err != nil {
		t.Fatal(err)
	}
	if err := set("gone", "age1gone", t0); err != nil {
		t.Fatal(err)
	}
	if err := set("nobody", "age1x", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("recipient of an unknown user: err = %v, want ErrNotFound", err)
	}
	if got := auditCount(t, s) - before; got != 4 {
		t.Errorf("%d audit entries for 4 changes", got)
	}
	g, _ := s.User(ctx, "gone")
	g.Disabled = true
	if err := s.UpdateUser(ctx, g, ev("user.update", "gone")); err != nil {
		t.Fatal(err)
	}
	rs, err := s.ListRecipients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Recipient{
		{User: "line1", Roles: Roles{RoleStation}, Recipient: "age1line", Updated: t0},
		{User: "tess", Roles: Roles{RoleTechnician}, Recipient: "age1second", Updated: t0.Add(time.Hour)},
	}
	if len(rs) != len(want) {
		t.Fatalf("got %+v, want %+v", rs, want)
	}
	for i := range want {
		if rs[i].User != want[i].User || rs[i].Roles.String() != want[i].Roles.String() || rs[i].Recipient != want[i].Recipient || !rs[i].Updated.Equal(want[i].Updated) {
			t.Errorf("recipient %d = %+v, want %+v", i, rs[i], want[i])
		}
	}
}
