package apiwire

import (
	"go/ast"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// bodySides are the packages that write or read the API's JSON bodies.
var (
	bodyServer  = "../../server/api"
	bodyClients = []string{"../../server/client", "../../wasm/client"}
)

// jsonFields returns the JSON names of a struct's fields, sorted, and
// whether any field has a json tag.
func jsonFields(st *ast.StructType) (names []string, tagged bool) {
	for _, f := range st.Fields.List {
		var name string
		if f.Tag != nil {
			tag, _ := strconv.Unquote(f.Tag.Value)
			if v, ok := reflect.StructTag(tag).Lookup("json"); ok {
				tagged = true
				name, _, _ = strings.Cut(v, ",")
				if name == "-" {
					continue
				}
			}
		}
		for _, id := range f.Names {
			if name == "" && id.IsExported() {
				names = append(names, id.Name)
			} else if name != "" {
				names = append(names, name)
			}
		}
	}
	slices.Sort(names)
	return names, tagged
}

// isMapLit reports whether e is a map literal: a body of no declared type.
func isMapLit(e ast.Expr) bool {
	c, ok := e.(*ast.CompositeLit)
	if !ok {
		return false
	}
	_, ok = c.Type.(*ast.MapType)
	return ok
}

// TestBodiesAreTheContract fails when a JSON body is declared on one side
// only: a client that declares its own body type, or sends or reads a
// map; a server that writes a map, or declares a body type with fields no
// contract type has. (A server may decode a contract type into its own
// struct of the same fields, as it does to parse an ESP32 report's eFuse
// state strictly; its fields must still be the contract's.)
func TestBodiesAreTheContract(t *testing.T) {
	_, own := parseSide(t, ".")
	contract := map[string]string{} // JSON field set → type name
	for _, f := range own {
		ast.Inspect(f, func(n ast.Node) bool {
			if ts, ok := n.(*ast.TypeSpec); ok {
				if st, ok := ts.Type.(*ast.StructType); ok {
					if names, tagged := jsonFields(st); tagged {
						contract[strings.Join(names, ",")] = ts.Name.Name
					}
				}
			}
			return true
		})
	}
	if len(contract) < 20 {
		t.Fatalf("only %d body types found in the contract: the check would check little", len(contract))
	}

	check := func(dir string, server bool) int {
		fset, files := parseSide(t, dir)
		seen := 0
		for _, f := range files {
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.StructType:
					names, tagged := jsonFields(n)
					if !tagged {
						return true
					}
					seen++
					if !server {
						t.Errorf("%s: a client declares a JSON body {%s}: declare it in apiwire", fset.Position(n.Pos()), strings.Join(names, ", "))
					} else if _, ok := contract[strings.Join(names, ",")]; !ok {
						t.Errorf("%s: the server declares a JSON body {%s} that no apiwire type has: declare it in apiwire", fset.Position(n.Pos()), strings.Join(names, ", "))
					}
				case *ast.CallExpr:
					var fn string
					switch f := n.Fun.(type) {
					case *ast.Ident:
						fn = f.Name
					case *ast.SelectorExpr:
						fn = f.Sel.Name
					}
					if server && fn != "writeJSON" || !server && fn != "call" && fn != "jsonCall" {
						return true
					}
					seen++
					for _, a := range n.Args {
						if isMapLit(a) {
							t.Errorf("%s: a body written as a map: use an apiwire type", fset.Position(a.Pos()))
						}
					}
				}
				return true
			})
		}
		return seen
	}
	if n := check(bodyServer, true); n < 30 {
		t.Errorf("only %d bodies seen in %s: the check would check little", n, bodyServer)
	}
	for _, dir := range bodyClients {
		if n := check(dir, false); n < 5 {
			t.Errorf("only %d bodies seen in %s: the check would check little", n, dir)
		}
	}
}
