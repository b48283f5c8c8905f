package wasmsize

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// leb is an unsigned LEB128.
func leb(v uint32) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func name(s string) []byte { return append(leb(uint32(len(s))), s...) }

func section(id byte, body []byte) []byte {
	return append(append([]byte{id}, leb(uint32(len(body)))...), body...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// testModule is a module with two imported functions (and one imported
// memory), three defined functions of 3, 4 and 130 body bytes, a data
// section and a name section that names the defined functions as Go's linker
// would.
func testModule() []byte {
	imports := cat(leb(3),
		name("go"), name("runtime.wasmExit"), []byte{0x00}, leb(0),
		name("env"), name("mem"), []byte{0x02, 0x00}, leb(1),
		name("go"), name("syscall/js.valueGet"), []byte{0x00}, leb(0))
	body := func(n int) []byte { return cat(leb(uint32(n)), make([]byte, n)) }
	code := cat(leb(3), body(3), body(4), body(130))
	names := cat(leb(4),
		leb(0), name("runtime.wasmExit"),
		leb(2), name("net_http._*Client_.Do"),
		leb(3), name("github.com_maxence_charriere_go_app_v10_pkg_app.Div"),
		leb(4), name("type_.eq.net_http.Header"))
	nameSec := cat(name("name"), []byte{0x01}, leb(uint32(len(names))), names)
	return cat([]byte("\x00asm\x01\x00\x00\x00"),
		section(1, []byte{0x01, 0x60, 0x00, 0x00}),
		section(2, imports),
		section(3, []byte{0x03, 0x00, 0x00, 0x00}),
		section(10, code),
		section(11, make([]byte, 50)),
		section(0, nameSec))
}

func TestParse(t *testing.T) {
	b := testModule()
	m, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Size != len(b) || !m.Named {
		t.Errorf("Size %d Named %v, want %d true", m.Size, m.Named, len(b))
	}
	var got []string
	for _, s := range m.Sections {
		got = append(got, s.Name)
	}
	if want := "type import function code data custom:name"; strings.Join(got, " ") != want {
		t.Errorf("sections %q, want %q", got, want)
	}
	if m.Sections[4].Size != 50 {
		t.Errorf("data section %d bytes, want 50", m.Sections[4].Size)
	}
	// Function index 2 is the first defined one: two functions are imported.
	want := []Func{{"net_http._*Client_.Do", 4}, {"github.com_maxence_charriere_go_app_v10_pkg_app.Div", 5}, {"type_.eq.net_http.Header", 132}}
	if len(m.Funcs) != len(want) {
		t.Fatalf("funcs %v, want %v", m.Funcs, want)
	}
	for i := range want {
		if m.Funcs[i] != want[i] {
			t.Errorf("func %d = %+v, want %+v", i, m.Funcs[i], want[i])
		}
	}

	pkgs := NewPackages([]string{"net", "net/http", "github.com/maxence-charriere/go-app/v10/pkg/app"})
	sizes := m.ByPackage(pkgs)
	wantSizes := []PackageSize{{"(type_)", 1, 132}, {"github.com/maxence-charriere/go-app/v10/pkg/app", 1, 5}, {"net/http", 1, 4}}
	if len(sizes) != len(wantSizes) {
		t.Fatalf("ByPackage = %v, want %v", sizes, wantSizes)
	}
	for i := range wantSizes {
		if sizes[i] != wantSizes[i] {
			t.Errorf("ByPackage[%d] = %+v, want %+v", i, sizes[i], wantSizes[i])
		}
	}

	var out bytes.Buffer
	if err := m.Report(&out, pkgs, 2); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"custom:name", "github.com/maxence-charriere/go-app/v10/pkg/app", "code by module"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("report lacks %q:\n%s", s, out.String())
		}
	}
	if strings.Contains(out.String(), "net/http  ") {
		t.Errorf("report lists more than the top 2 packages:\n%s", out.String())
	}
}

func TestPackagesOf(t *testing.T) {
	p := NewPackages([]string{"crypto", "crypto/x509", "net/http", "net/http/internal", "slices", "github.com/fxamacker/cbor/v2"})
	for _, tc := range []struct{ name, want string }{
		{"crypto_x509.ParseCertificate", "crypto/x509"},
		{"crypto.Hash.New", "crypto"},
		{"net_http_internal.NewChunkedReader", "net/http/internal"},
		{"net_http._*Transport_.RoundTrip", "net/http"},
		{"slices.SortFunc_go.shape.string_", "slices"},
		{"github.com_fxamacker_cbor_v2._*decoder_.parse", "github.com/fxamacker/cbor/v2"},
		{"go_buildid", "(go_buildid)"},
		{"type_.eq.crypto_x509.Certificate", "(type_)"},
		{"", "(unnamed)"},
	} {
		if got := p.Of(tc.name); got != tc.want {
			t.Errorf("Of(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestModuleOf(t *testing.T) {
	for pkg, want := range map[string]string{
		"net/http":                     "std",
		"vendor/golang.org/x/net/idna": "std",
		"trustforge/wasm/ui":           "trustforge",
		"github.com/maxence-charriere/go-app/v10/pkg/app": "github.com/maxence-charriere/go-app/v10",
		"github.com/fxamacker/cbor/v2":                    "github.com/fxamacker/cbor/v2",
		"golang.org/x/crypto/chacha20":                    "golang.org/x/crypto",
		"filippo.io/age/internal/format":                  "filippo.io/age",
		"(type_)":                                         "(linker)",
	} {
		if got := ModuleOf(pkg); got != want {
			t.Errorf("ModuleOf(%q) = %q, want %q", pkg, got, want)
		}
	}
}

func TestBadModules(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"magic", []byte("\x00asn\x01\x00\x00\x00"), ErrMagic},
		{"version", []byte("\x00asm\x02\x00\x00\x00"), ErrVersion},
		{"section past end", cat([]byte("\x00asm\x01\x00\x00\x00"), []byte{11, 10, 0}), ErrTruncated},
		{"long leb", cat([]byte("\x00asm\x01\x00\x00\x00"), []byte{11, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}), ErrMalformed},
		{"u32 overflow", cat([]byte("\x00asm\x01\x00\x00\x00"), []byte{11, 0xff, 0xff, 0xff, 0xff, 0x1f}), ErrMalformed},
		{"forged code count", cat([]byte("\x00asm\x01\x00\x00\x00"), section(10, cat(leb(1<<30), []byte{1, 0}))), ErrTruncated},
		{"bad import kind", cat([]byte("\x00asm\x01\x00\x00\x00"), section(2, cat(leb(1), name("a"), name("b"), []byte{0x09}))), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse(tc.b); !errors.Is(err, tc.want) {
				t.Errorf("Parse = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestEveryTruncation: a module cut anywhere but at a section boundary is an
// error, never a panic.
func TestEveryTruncation(t *testing.T) {
	b := testModule()
	boundaries := map[int]bool{len(b): true}
	m, _ := Parse(b)
	off := 8
	boundaries[off] = true
	for _, s := range m.Sections {
		off += 1 + len(leb(uint32(s.Size))) + s.Size
		boundaries[off] = true
	}
	for n := range len(b) {
		_, err := Parse(b[:n])
		if boundaries[n] && err != nil {
			t.Errorf("cut at section boundary %d: %v", n, err)
		}
		if !boundaries[n] && err == nil {
			t.Errorf("cut at %d parsed without error", n)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(testModule())
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Add(goDataModule())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		total := 0
		for _, fn := range m.Funcs {
			total += fn.Size
		}
		if total > len(b) {
			t.Fatalf("functions total %d bytes of a %d-byte module", total, len(b))
		}
		m.ByPackage(nil)
		_, _ = m.DataParts()
	})
}
