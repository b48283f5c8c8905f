//go:build !(js && wasm)

package guide

import (
	"slices"
	"strings"
	"testing"

	"trustforge/internal/apiwire"
	"trustforge/wasm/state"
)

func TestToggleRole(t *testing.T) {
	tests := []struct {
		name  string
		roles []state.Role
		r     state.Role
		on    bool
		want  []state.Role
	}{
		{"add to none", nil, engineer, true, []state.Role{engineer}},
		{"add a second", []state.Role{engineer}, tech, true, []state.Role{engineer, tech}},
		{"add one held", []state.Role{engineer, tech}, engineer, true, []state.Role{engineer, tech}},
		{"remove one", []state.Role{admin, engineer}, admin, false, []state.Role{engineer}},
		{"remove the last", []state.Role{station}, station, false, []state.Role{}},
		{"remove one not held", []state.Role{engineer}, admin, false, []state.Role{engineer}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.roles)
			got := ToggleRole(tt.roles, tt.r, tt.on)
			if !slices.Equal(got, tt.want) {
				t.Errorf("ToggleRole(%v, %s, %v) = %v, want %v", tt.roles, tt.r, tt.on, got, tt.want)
			}
			if !slices.Equal(tt.roles, in) {
				t.Errorf("ToggleRole changed its argument to %v", tt.roles)
			}
		})
	}
}

func TestRoleSetRefusals(t *testing.T) {
	tests := []struct {
		name    string
		roles   []state.Role
		refused string // words of the refusal; "" when allowed
	}{
		{"none", nil, "at least one role"},
		{"empty", []state.Role{}, "at least one role"},
		{"one", []state.Role{tech}, ""},
		{"all", apiwire.AllRoles, ""},
		{"only unknown", []state.Role{"superuser"}, "at least one role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for what, got := range map[string]string{"new account": NewAccountRoles(tt.roles), "account": AccountRoles("kim", tt.roles)} {
				if tt.refused == "" && got != "" {
					t.Errorf("%s with %v refused: %q", what, tt.roles, got)
				}
				if tt.refused != "" && !strings.Contains(got, tt.refused) {
					t.Errorf("%s with %v: %q, want a refusal saying %q", what, tt.roles, got, tt.refused)
				}
			}
		})
	}
	if got := AccountRoles("kim", nil); !strings.Contains(got, "kim") || !strings.Contains(got, "disable the account") {
		t.Errorf("an account left without roles: %q, want its name and what to do instead", got)
	}
}

func TestRolesHintNamesEveryRole(t *testing.T) {
	hint := RolesHint()
	for _, r := range apiwire.AllRoles {
		duty := roleDuty(r)
		if duty == "" {
			t.Errorf("role %s has no duty in the hint", r)
			continue
		}
		if !strings.Contains(hint, rolePlural(r)+" "+duty) {
			t.Errorf("the hint %q does not say what %s do", hint, rolePlural(r))
		}
	}
}
