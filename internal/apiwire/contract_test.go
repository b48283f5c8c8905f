package apiwire

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// sides are the folders that speak the contract: the server and its two
// clients, with the console packages that branch on its errors and roles.
var sides = []string{"../../server/api", "../../server/site", "../../server/auth", "../../server/store", "../../server/client",
	"../../server/cli", "../../wasm"}

// jsonCode finds an error code written inside JSON text.
var jsonCode = regexp.MustCompile(`"code": ?"[a-z]`)

// clientOnly are codes the clients make themselves; the server never
// sends them.
var clientOnly = []Code{CodeHTTP}

// parseSide parses every non-test Go file under the folders.
func parseSide(t *testing.T, dirs ...string) (*token.FileSet, []*ast.File) {
	t.Helper()
	fset := token.NewFileSet()
	var files []*ast.File
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			files = append(files, f)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(files) == 0 {
		t.Fatalf("no Go files under %v: the check would check nothing", dirs)
	}
	return fset, files
}

func isSel(e ast.Expr, pkg, name string) bool {
	s, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := s.X.(*ast.Ident)
	return ok && x.Name == pkg && (name == "" || s.Sel.Name == name)
}

func stringLit(e ast.Expr) (string, bool) {
	b, ok := e.(*ast.BasicLit)
	if !ok || b.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(b.Value)
	return s, err == nil
}

// TestCodesAreTheContract fails when an error code, a role or a route
// path is written outside this package: as a string literal in the
// server's errors, a client's comparison or a console's constant. A new
// code, role or route exists here or nowhere.
func TestCodesAreTheContract(t *testing.T) {
	fset, files := parseSide(t, sides...)
	used := map[string]bool{}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			bad := func(e ast.Expr, what string) {
				if s, ok := stringLit(e); ok && s != "" {
					t.Errorf("%s: %s %q written as a literal: use the apiwire constant", fset.Position(e.Pos()), what, s)
				}
			}
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if isSel(n, "apiwire", "") && strings.HasPrefix(n.Sel.Name, "Code") {
					used[n.Sel.Name] = true
				}
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "errorf" && len(n.Args) > 1 {
					bad(n.Args[1], "error code")
				}
				if (isSel(n.Fun, "client", "IsCode") || isSel(n.Fun, "apiwire", "Code")) && len(n.Args) > 0 {
					bad(n.Args[len(n.Args)-1], "error code")
				}
				if isSel(n.Fun, "apiwire", "Role") || isSel(n.Fun, "state", "Role") || isSel(n.Fun, "store", "Role") {
					bad(n.Args[0], "role")
				}
			case *ast.KeyValueExpr:
				if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Code" {
					bad(n.Value, "error code")
				}
			case *ast.BinaryExpr:
				if n.Op == token.EQL || n.Op == token.NEQ {
					for _, side := range []ast.Expr{n.X, n.Y} {
						if s, ok := side.(*ast.SelectorExpr); ok && s.Sel.Name == "Code" {
							bad(n.X, "error code")
							bad(n.Y, "error code")
						}
					}
				}
			case *ast.SwitchStmt:
				if s, ok := n.Tag.(*ast.SelectorExpr); ok && s.Sel.Name == "Code" {
					for _, c := range n.Body.List {
						for _, e := range c.(*ast.CaseClause).List {
							bad(e, "error code")
						}
					}
				}
			case *ast.ValueSpec:
				if n.Type != nil && (isSel(n.Type, "apiwire", "Role") || isSel(n.Type, "apiwire", "Code")) || isRoleType(n.Type) {
					for _, v := range n.Values {
						bad(v, "role or code")
					}
				}
			case *ast.BasicLit:
				s, ok := stringLit(n)
				if ok && strings.HasPrefix(s, "/api/") && s != "/api/" {
					t.Errorf("%s: API path %q written as a literal: use the apiwire route", fset.Position(n.Pos()), s)
				}
				if ok && jsonCode.MatchString(s) {
					t.Errorf("%s: error code written into JSON text %q: use the apiwire constant", fset.Position(n.Pos()), s)
				}
			}
			return true
		})
	}
	for _, c := range Codes {
		name := codeName(t, c)
		if !used[name] && !slices.Contains(clientOnly, c) {
			t.Errorf("code %s (%q) is in the contract but no server or client uses it", name, c)
		}
	}
}

func isRoleType(e ast.Expr) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == "Role"
}

// codeName returns the constant's name of c, read from errors.go.
func codeName(t *testing.T, c Code) string {
	t.Helper()
	for name, v := range declared(t, "errors.go", "Code") {
		if v == string(c) {
			return name
		}
	}
	t.Fatalf("code %q is not declared in errors.go", c)
	return ""
}

// declared returns the constants of the named type in a file of this
// package, by name.
func declared(t *testing.T, file, typ string) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != typ {
				continue
			}
			for i, n := range vs.Names {
				v, _ := stringLit(vs.Values[i])
				out[n.Name] = v
			}
		}
	}
	return out
}

// TestListsAreComplete fails when a code, role or permission constant is
// declared but missing from its list, so the checks that range over the
// lists see it.
func TestListsAreComplete(t *testing.T) {
	for _, c := range []struct {
		file, typ string
		list      []string
	}{
		{"errors.go", "Code", strs(Codes)},
		{"roles.go", "Role", strs(AllRoles)},
		{"roles.go", "Permission", strs(Permissions)},
	} {
		decl := declared(t, c.file, c.typ)
		if len(decl) == 0 {
			t.Fatalf("no %s constants in %s", c.typ, c.file)
		}
		for name, v := range decl {
			if !slices.Contains(c.list, v) {
				t.Errorf("%s %s (%q) is declared but not listed", c.typ, name, v)
			}
		}
		if len(c.list) != len(decl) {
			t.Errorf("%d %s values listed, %d declared", len(c.list), c.typ, len(decl))
		}
	}
	for _, p := range Permissions {
		if _, ok := bits(p); !ok {
			t.Errorf("permission %s has no row in the policy", p)
		}
	}
	seen := map[string]bool{}
	for _, r := range Routes {
		if seen[r.String()] {
			t.Errorf("route %s listed twice", r)
		}
		seen[r.String()] = true
		if r.Perm != "" && !slices.Contains(Permissions, r.Perm) {
			t.Errorf("route %s needs unknown permission %q", r, r.Perm)
		}
	}
}

func strs[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

func TestRoutePath(t *testing.T) {
	for _, c := range []struct {
		r    Route
		args []string
		want string
	}{
		{ListReleases, nil, "/api/releases"},
		{GetRelease, []string{"r 1/2"}, "/api/releases/r%201%2F2"},
		{Latest, []string{"thermo", "beta"}, "/api/products/thermo/channels/beta/latest"},
		{RevokeKey, []string{"p", "ab"}, "/api/products/p/keys/ab"},
	} {
		if got := c.r.Path(c.args...); got != c.want {
			t.Errorf("%s.Path(%q) = %q, want %q", c.r, c.args, got, c.want)
		}
	}
	for _, args := range [][]string{nil, {"a", "b"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("GetRelease.Path(%q) did not panic", args)
				}
			}()
			GetRelease.Path(args...)
		}()
	}
}

func TestAllowed(t *testing.T) {
	if Allowed("root", PermSelf) || AllowedAny(Roles{"root"}, PermDevices) {
		t.Error("an unknown role is allowed")
	}
	if !AllowedAny(Roles{RoleTechnician, RoleStation}, PermProduce) || AllowedAny(Roles{RoleTechnician}, PermProduce) {
		t.Error("a set is not the union of its roles")
	}
}
