// Package wasmsize tells where the bytes of a WebAssembly module go: the size
// of each section, and the code of each Go package, attributed through the
// module's "name" custom section.
//
// It reads the binary format of the WebAssembly core specification (section
// 5, "Binary Format", and appendix 7.4, "Name Section"). It checks every
// length against the bytes it has and never allocates more than the input's
// size, so a damaged module gets an error, not a panic.
package wasmsize

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Section ids of the core specification.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunc      = 3
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
)

var sectionNames = [...]string{
	0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory",
	6: "global", 7: "export", 8: "start", 9: "element", 10: "code", 11: "data",
	12: "datacount", 13: "tag",
}

// Section is one section of a module.
type Section struct {
	ID   byte
	Name string // the section's kind, or "custom:NAME" for custom sections
	Size int    // bytes of the section's contents, without id and length
}

// Func is one function defined in the module (imports excluded).
type Func struct {
	Name string // from the name section; empty when the module has none
	Size int    // bytes of its body in the code section, with the body's length
}

// Module is what Parse learns about a module.
type Module struct {
	Size     int // bytes of the whole module
	Sections []Section
	Funcs    []Func
	// Named reports whether the module has a name section (Go leaves it out
	// when linked with -ldflags=-s).
	Named bool

	data []byte // the data section's contents, for DataParts
}

// Errors returned by Parse.
var (
	ErrMagic     = errors.New("wasmsize: not a WebAssembly module (bad magic)")
	ErrVersion   = errors.New("wasmsize: unsupported WebAssembly version")
	ErrTruncated = errors.New("wasmsize: truncated module")
	ErrMalformed = errors.New("wasmsize: malformed module")
)

// reader reads the specification's primitive encodings from a byte slice.
type reader struct {
	b   []byte
	off int
}

func (r *reader) eof() bool { return r.off >= len(r.b) }

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, ErrTruncated
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

// u32 reads an unsigned LEB128 of at most 5 bytes (the spec's u32).
func (r *reader) u32() (uint32, error) {
	var v uint32
	for i := 0; i < 5; i++ {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		if i == 4 && c > 0x0f {
			return 0, fmt.Errorf("%w: u32 overflows", ErrMalformed)
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w: u32 longer than 5 bytes", ErrMalformed)
}

// bytes reads n bytes.
func (r *reader) bytes(n uint32) ([]byte, error) {
	if uint64(n) > uint64(len(r.b)-r.off) {
		return nil, ErrTruncated
	}
	b := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return b, nil
}

// name reads a length-prefixed name.
func (r *reader) name() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	b, err := r.bytes(n)
	return string(b), err
}

// count reads a vector length and checks that at least min bytes per element
// remain, so a forged length cannot make the caller allocate.
func (r *reader) count(min int) (int, error) {
	n, err := r.u32()
	if err != nil {
		return 0, err
	}
	if uint64(n)*uint64(min) > uint64(len(r.b)-r.off) {
		return 0, ErrTruncated
	}
	return int(n), nil
}

// Parse reads a module's sections, its functions' sizes and, when present,
// their names.
func Parse(b []byte) (*Module, error) {
	if len(b) < 8 {
		return nil, ErrTruncated
	}
	if string(b[:4]) != "\x00asm" {
		return nil, ErrMagic
	}
	if b[4] != 1 || b[5] != 0 || b[6] != 0 || b[7] != 0 {
		return nil, ErrVersion
	}
	m := &Module{Size: len(b)}
	r := &reader{b: b, off: 8}
	var imported int // functions imported, the first indices of the function space
	var names map[uint32]string
	for !r.eof() {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		body, err := r.bytes(size)
		if err != nil {
			return nil, fmt.Errorf("%w: section %d", err, id)
		}
		s := Section{ID: id, Size: len(body)}
		if int(id) < len(sectionNames) {
			s.Name = sectionNames[id]
		} else {
			s.Name = fmt.Sprintf("unknown-%d", id)
		}
		sr := &reader{b: body}
		switch id {
		case secCustom:
			name, err := sr.name()
			if err != nil {
				return nil, fmt.Errorf("%w: custom section name", err)
			}
			s.Name = "custom:" + name
			if name == "name" {
				if names, err = parseNames(sr); err != nil {
					return nil, err
				}
				m.Named = true
			}
		case secImport:
			if imported, err = countFuncImports(sr); err != nil {
				return nil, err
			}
		case secCode:
			if m.Funcs, err = parseCode(sr); err != nil {
				return nil, err
			}
		case secData:
			m.data = body
		}
		m.Sections = append(m.Sections, s)
	}
	for i := range m.Funcs {
		m.Funcs[i].Name = names[uint32(imported+i)]
	}
	return m, nil
}

// countFuncImports returns how many of the import section's entries are
// functions.
func countFuncImports(r *reader) (int, error) {
	n, err := r.count(3)
	if err != nil {
		return 0, err
	}
	funcs := 0
	for range n {
		if _, err := r.name(); err != nil { // module
			return 0, err
		}
		if _, err := r.name(); err != nil { // field
			return 0, err
		}
		kind, err := r.byte()
		if err != nil {
			return 0, err
		}
		switch kind {
		case 0x00: // func: type index
			funcs++
			_, err = r.u32()
		case 0x01: // table: reftype, limits
			if _, err = r.byte(); err == nil {
				err = r.limits()
			}
		case 0x02: // memory: limits
			err = r.limits()
		case 0x03: // global: valtype, mutability
			_, err = r.bytes(2)
		case 0x04: // tag: attribute, type index
			if _, err = r.byte(); err == nil {
				_, err = r.u32()
			}
		default:
			return 0, fmt.Errorf("%w: import kind %#x", ErrMalformed, kind)
		}
		if err != nil {
			return 0, err
		}
	}
	return funcs, nil
}

func (r *reader) limits() error {
	flag, err := r.byte()
	if err != nil {
		return err
	}
	if _, err := r.u32(); err != nil {
		return err
	}
	if flag&1 != 0 {
		_, err = r.u32()
	}
	return err
}

// parseCode returns each body's size, with the bytes of its length.
func parseCode(r *reader) ([]Func, error) {
	n, err := r.count(1)
	if err != nil {
		return nil, err
	}
	funcs := make([]Func, 0, n)
	for range n {
		start := r.off
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		if _, err := r.bytes(size); err != nil {
			return nil, fmt.Errorf("%w: function body %d", err, len(funcs))
		}
		funcs = append(funcs, Func{Size: r.off - start})
	}
	return funcs, nil
}

// parseNames reads the function names subsection (id 1) of a name section.
func parseNames(r *reader) (map[uint32]string, error) {
	names := map[uint32]string{}
	for !r.eof() {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		sub, err := r.bytes(size)
		if err != nil {
			return nil, fmt.Errorf("%w: name subsection %d", err, id)
		}
		if id != 1 {
			continue
		}
		sr := &reader{b: sub}
		n, err := sr.count(2)
		if err != nil {
			return nil, err
		}
		for range n {
			idx, err := sr.u32()
			if err != nil {
				return nil, err
			}
			name, err := sr.name()
			if err != nil {
				return nil, err
			}
			names[idx] = name
		}
	}
	return names, nil
}

// Packages attributes function names to Go packages. Go's linker writes
// names into the name section with every byte other than a letter, digit,
// '_' or '.' replaced by '_' ("net/http.(*Client).Do" becomes
// "net_http._*Client_.Do"), so a name's package is found by matching it
// against the import paths the program links, mangled the same way.
type Packages struct {
	byMangled map[string]string
}

// NewPackages returns a matcher for the given import paths (the output of
// `go list -deps`). With no paths, Of falls back to the name up to its
// first '.'.
func NewPackages(paths []string) *Packages {
	p := &Packages{byMangled: map[string]string{}}
	for _, path := range paths {
		p.byMangled[Mangle(path)] = path
	}
	return p
}

// Mangle replaces each byte of s that is not a letter, digit, '_' or '.'
// with '_', as Go's WebAssembly linker does for the name section.
func Mangle(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			b[i] = '_'
		}
	}
	return string(b)
}

// Of returns the import path of the package a function name belongs to: the
// longest known package followed by '.'. Names of no known package (linker
// made, like "type_.eq.T") are grouped by the part before their first '.';
// an empty name is "(unnamed)".
func (p *Packages) Of(name string) string {
	if name == "" {
		return "(unnamed)"
	}
	best := ""
	for i := 0; i < len(name); i++ {
		if name[i] != '.' {
			continue
		}
		if path, ok := p.byMangled[name[:i]]; ok {
			best = path
		}
	}
	if best != "" {
		return best
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		return "(" + name[:i] + ")"
	}
	return "(" + name + ")"
}

// PackageSize is the code of one package.
type PackageSize struct {
	Package string
	Funcs   int
	Size    int // bytes of function bodies
}

// ByPackage sums function bodies by Go package, largest first.
func (m *Module) ByPackage(pkgs *Packages) []PackageSize {
	if pkgs == nil {
		pkgs = NewPackages(nil)
	}
	sums := map[string]*PackageSize{}
	for _, f := range m.Funcs {
		p := pkgs.Of(f.Name)
		s := sums[p]
		if s == nil {
			s = &PackageSize{Package: p}
			sums[p] = s
		}
		s.Funcs++
		s.Size += f.Size
	}
	out := make([]PackageSize, 0, len(sums))
	for _, s := range sums {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Size != out[j].Size {
			return out[i].Size > out[j].Size
		}
		return out[i].Package < out[j].Package
	})
	return out
}

// ModuleOf returns the module (import path) a package belongs to, for the
// modules a Go program links: "std" for the standard library, else the
// package path up to the module boundary as far as a heuristic knows it
// (three elements for github.com and golang.org/x, two for others with a
// dot in the first element).
func ModuleOf(pkg string) string {
	first, _, _ := strings.Cut(pkg, "/")
	if !strings.Contains(first, ".") {
		if strings.HasPrefix(pkg, "(") {
			return "(linker)"
		}
		if first == "trustforge" {
			return "trustforge"
		}
		return "std"
	}
	parts := strings.Split(pkg, "/")
	n := 2
	if first == "github.com" || first == "golang.org" || first == "gitlab.com" {
		n = 3
	}
	if len(parts) > n && strings.HasPrefix(parts[n], "v") && len(parts[n]) > 1 && parts[n][1] >= '0' && parts[n][1] <= '9' {
		n++
	}
	if len(parts) < n {
		n = len(parts)
	}
	return strings.Join(parts[:n], "/")
}
