package wasmsize

import (
	"errors"
	"strings"
	"testing"
)

func TestWithoutCode(t *testing.T) {
	pkgs := NewPackages([]string{"net/http", "github.com/maxence-charriere/go-app/v10/pkg/app"})
	out, removed, err := WithoutCode(testModule(), func(name string) bool {
		return pkgs.Of(name) == "(type_)" // the 130-byte body
	})
	if err != nil {
		t.Fatal(err)
	}
	if removed != 2+130 {
		t.Errorf("removed %d bytes, want 132", removed)
	}
	m, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Named {
		t.Error("name section kept")
	}
	var sizes []int
	for _, f := range m.Funcs {
		sizes = append(sizes, f.Size)
	}
	if len(sizes) != 3 || sizes[0] != 4 || sizes[1] != 5 || sizes[2] != 4 {
		t.Errorf("function sizes %v, want [4 5 4]", sizes)
	}
	for _, s := range m.Sections {
		if s.Name == "data" && s.Size != 50 {
			t.Errorf("data section of %d bytes, want 50", s.Size)
		}
	}
	if _, _, err := WithoutCode(out, func(string) bool { return true }); !errors.Is(err, ErrNoNames) {
		t.Errorf("module without names: %v, want ErrNoNames", err)
	}
	if _, _, err := WithoutCode([]byte("\x00asm"), func(string) bool { return true }); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated module: %v", err)
	}
}
