package cli

import (
	"slices"
	"strings"
	"testing"
)

// TestCommandsSorted keeps the command table in the order help prints it.
func TestCommandsSorted(t *testing.T) {
	cmds := commands()
	if !slices.IsSortedFunc(cmds, func(a, b command) int { return strings.Compare(a.name, b.name) }) {
		var names []string
		for _, c := range cmds {
			names = append(names, c.name)
		}
		t.Errorf("commands are not sorted by name: %v", names)
	}
}
