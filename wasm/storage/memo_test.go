package storage

import (
	"slices"
	"strings"
	"testing"

	"trustforge/internal/apiwire"
)

func TestMemoRoundTrip(t *testing.T) {
	for _, m := range []Remembered{
		{User: "tess", Roles: apiwire.Roles{apiwire.RoleTechnician}},
		{User: "erin", Roles: apiwire.Roles{apiwire.RoleEngineer, apiwire.RoleAdmin}, Admins: []string{"root", "ada"}},
		{User: "émile « quoted »", Roles: apiwire.Roles{}, Admins: []string{}},
	} {
		got := decodeMemo(encodeMemo(m))
		if got.User != m.User || !slices.Equal(got.Roles, m.Roles) || !slices.Equal(got.Admins, m.Admins) {
			t.Errorf("%+v came back as %+v", m, got)
		}
	}
}

// TestMemoReadsWhatItCannotUse: what an older console stored ("1") or a
// value this one cannot read still means "this browser had a session",
// with no account: the tab asks the server before showing anyone.
func TestMemoReadsWhatItCannotUse(t *testing.T) {
	for _, v := range []string{"1", "", "{", `{"user":7}`, "\xff\xfe", `{"user":"x"}` + strings.Repeat(" ", maxMemo)} {
		if got := decodeMemo(v); got.User != "" {
			t.Errorf("decodeMemo(%.20q) = %+v, want no account", v, got)
		}
	}
}

func FuzzDecodeMemo(f *testing.F) {
	f.Add("1")
	f.Add(encodeMemo(Remembered{User: "tess", Roles: apiwire.Roles{apiwire.RoleTechnician}, Admins: []string{"root"}}))
	f.Add(`{"user":"","roles":null}`)
	f.Fuzz(func(t *testing.T, v string) {
		m := decodeMemo(v)
		if m.User == "" {
			return
		}
		// What is read back is stored the same way again.
		if again := decodeMemo(encodeMemo(m)); again.User != m.User || len(again.Roles) != len(m.Roles) || len(again.Admins) != len(m.Admins) {
			t.Errorf("%+v stored and read again as %+v", m, again)
		}
	})
}
