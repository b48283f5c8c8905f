package ui

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// These tests hold the console to the two rules that keep go-app v10.1.3
// from showing one row's or one moment's data in place of another's
// (STYLE.md, "go-app state: the trap to avoid"). They read the source of
// wasm/ui and of every page and kit package below it, so a new component
// that breaks a rule fails here, before anyone clicks the wrong release.

// uiSources parses the non-test Go files of this package and of the
// page and kit packages in the folders below it.
func uiSources(t *testing.T) (*token.FileSet, map[string]*ast.File) {
	t.Helper()
	fset := token.NewFileSet()
	files := map[string]*ast.File{}
	folders := map[string]bool{}
	err := filepath.WalkDir(".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name != "." && strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			return err
		}
		files[name] = f
		folders[filepath.Dir(name)] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 || !folders["kit"] {
		t.Fatalf("read %d source files in %d folders; the check would prove nothing", len(files), len(folders))
	}
	return fset, files
}

var eventMethod = regexp.MustCompile(`^On[A-Z][a-z]+$`)

// lifecycle names are go-app's component hooks, not element events.
var lifecycle = map[string]bool{
	"OnMount": true, "OnNav": true, "OnDismount": true, "OnUpdate": true, "OnInit": true,
	"OnPreRender": true, "OnAppUpdate": true, "OnResize": true, "OnAppInstallChange": true,
}

// rootIdent returns the identifier an expression chain such as
// app.Button().ID("x").OnClick starts from.
func rootIdent(e ast.Expr) *ast.Ident {
	for {
		switch x := e.(type) {
		case *ast.Ident:
			return x
		case *ast.SelectorExpr:
			e = x.X
		case *ast.CallExpr:
			e = x.Fun
		case *ast.ParenExpr:
			e = x.X
		default:
			return nil
		}
	}
}

// hasEventScope reports whether one of args is a call of app.EventScope.
func hasEventScope(args []ast.Expr) bool {
	for _, a := range args {
		if c, ok := a.(*ast.CallExpr); ok {
			if s, ok := c.Fun.(*ast.SelectorExpr); ok && s.Sel.Name == "EventScope" {
				return true
			}
		}
	}
	return false
}

// captured lists the variables that expr uses and that are declared in fn
// outside expr (the receiver excepted): what a closure would capture.
func captured(fn *ast.FuncDecl, expr ast.Node) []string {
	recv := ""
	if fn.Recv != nil && len(fn.Recv.List) > 0 && len(fn.Recv.List[0].Names) > 0 {
		recv = fn.Recv.List[0].Names[0].Name
	}
	seen := map[string]bool{}
	ast.Inspect(expr, func(n ast.Node) bool {
		id, ok := n.(*ast.Ident)
		if !ok || id.Obj == nil || id.Obj.Kind != ast.Var || id.Name == recv || id.Name == "_" {
			return true
		}
		decl, ok := id.Obj.Decl.(ast.Node)
		if !ok {
			return true
		}
		p := decl.Pos()
		inFunc := p >= fn.Pos() && p < fn.End()
		inExpr := p >= expr.Pos() && p < expr.End()
		if inFunc && !inExpr {
			seen[id.Name] = true
		}
		return true
	})
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// TestHandlersCarryIdentity: go-app keeps an element's old handler when the
// new one comes from the same function literal, whatever it captured. So a
// handler that captures anything but its component (a row's release, a
// field's pointer) must carry app.EventScope with that thing's identity,
// which makes go-app replace the handler when the identity changes.
func TestHandlersCarryIdentity(t *testing.T) {
	fset, files := uiSources(t)
	var bad []string
	checked := 0
	for _, f := range files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) == 0 {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || !eventMethod.MatchString(sel.Sel.Name) || lifecycle[sel.Sel.Name] {
					return true
				}
				if root := rootIdent(sel.X); root == nil || root.Name != "app" {
					return true
				}
				checked++
				if hasEventScope(call.Args[1:]) {
					return true
				}
				if vars := captured(fn, call.Args[0]); len(vars) > 0 {
					bad = append(bad, fmt.Sprintf("%s: %s handler captures %s without app.EventScope",
						fset.Position(call.Pos()), sel.Sel.Name, strings.Join(vars, ", ")))
				}
				return true
			})
		}
	}
	if checked < 50 {
		t.Fatalf("checked %d event handlers; the check would prove nothing", checked)
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Error(b)
	}
}

// TestAsyncWorkUsesComponentContext: go-app drops a dispatch whose source
// element has gone, and an event handler's context belongs to the element
// that fired it (a form the next render replaces, a row's button). Work
// started off the UI goroutine must dispatch through the component's own
// context, kept at mount in its ui field; otherwise its result is lost and
// the component stays "busy" for ever.
func TestAsyncWorkUsesComponentContext(t *testing.T) {
	fset, files := uiSources(t)
	var bad []string
	checked := 0
	for _, f := range files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil || fn.Recv == nil || len(fn.Recv.List[0].Names) == 0 {
				continue
			}
			recv := fn.Recv.List[0].Names[0].Name
			rebound := token.NoPos // where ctx = recv.ui
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if as, ok := n.(*ast.AssignStmt); ok && len(as.Lhs) == 1 && len(as.Rhs) == 1 {
					if id, ok := as.Lhs[0].(*ast.Ident); ok && id.Name == "ctx" {
						if s, ok := as.Rhs[0].(*ast.SelectorExpr); ok && s.Sel.Name == "ui" {
							if x, ok := s.X.(*ast.Ident); ok && x.Name == recv && rebound == token.NoPos {
								rebound = as.Pos()
							}
						}
					}
				}
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || sel.Sel.Name != "Async" {
					return true
				}
				checked++
				switch x := sel.X.(type) {
				case *ast.SelectorExpr: // recv.ui.Async
					if id, ok := x.X.(*ast.Ident); ok && id.Name == recv && x.Sel.Name == "ui" {
						return true
					}
				case *ast.Ident:
					if fn.Name.Name == "OnMount" || (rebound != token.NoPos && rebound < call.Pos()) {
						return true
					}
				}
				bad = append(bad, fmt.Sprintf("%s: %s starts work on a context that is not the component's (add ctx = %s.ui)",
					fset.Position(call.Pos()), fn.Name.Name, recv))
				return true
			})
		}
	}
	if checked < 20 {
		t.Fatalf("checked %d Async calls; the check would prove nothing", checked)
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Error(b)
	}
}
