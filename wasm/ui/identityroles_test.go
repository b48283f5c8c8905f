//go:build !js

package ui

import (
	"testing"

	"trustforge/server/auth"
	"trustforge/server/store"
	"trustforge/wasm/state"
)

func TestRegistryRolesMatchServer(t *testing.T) {
	for _, role := range []state.Role{state.RoleAdmin, state.RoleEngineer, state.RoleTechnician, state.RoleStation, "intruder"} {
		for _, perm := range []string{permDevices, permProvision, permRevoke} {
			got := registryAllowed(role, perm)
			want := auth.RoleAllowed(store.Role(role), auth.Permission(perm))
			if got != want {
				t.Errorf("%s may %s: console says %v, server %v", role, perm, got, want)
			}
		}
	}
}
