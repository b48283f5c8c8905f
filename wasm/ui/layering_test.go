package ui

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestPagesImportNoPage holds the console's layering: a page's package
// imports kit and board, never another page; board imports kit only; kit
// imports nothing of wasm/ui. A page that needs another page's component
// moves it to board or kit, so a change to one page stays in its folder.
func TestPagesImportNoPage(t *testing.T) {
	const prefix = "trustforge/wasm/ui/"
	allowed := map[string]map[string]bool{
		"kit":   {},
		"board": {"kit": true},
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	pages := 0
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "testdata" {
			continue
		}
		pkg := e.Name()
		ok, shared := allowed[pkg]
		if !shared {
			ok = map[string]bool{"kit": true, "board": true}
			pages++
		}
		imports := map[string]bool{}
		files, err := filepath.Glob(filepath.Join(pkg, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range files {
			f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if rest, found := strings.CutPrefix(path, prefix); found && !ok[rest] {
					imports[rest] = true
				}
			}
		}
		var bad []string
		for p := range imports {
			bad = append(bad, p)
		}
		sort.Strings(bad)
		if len(bad) > 0 {
			t.Errorf("wasm/ui/%s imports %s; a page imports only kit and board, board only kit, kit none",
				pkg, strings.Join(bad, ", "))
		}
	}
	if pages < 8 {
		t.Fatalf("found %d page packages below wasm/ui; the check would prove nothing", pages)
	}
}
