package cbor

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// Values like the ones trustforge encodes: manifests (text keys, nested
// structs, omitempty), COSE-style integer keys, SMP requests and answers.
type part struct {
	Name    string `cbor:"name"`
	Offset  uint64 `cbor:"offset"`
	Size    uint64 `cbor:"size"`
	SHA256  []byte `cbor:"sha256"`
	Encrypt bool   `cbor:"encrypt,omitempty"`
}

type info struct {
	SHA256 []byte `cbor:"sha256"`
	Size   uint64 `cbor:"size"`
}

type manifest struct {
	Format     uint64   `cbor:"format"`
	Product    string   `cbor:"product"`
	Version    string   `cbor:"version"`
	Hardware   []string `cbor:"hardware"`
	Created    uint64   `cbor:"created"`
	Image      info     `cbor:"image"`
	Recipients []string `cbor:"recipients"`
	Passphrase bool     `cbor:"passphrase"`
	Notes      string   `cbor:"notes,omitempty"`
	Parts      []part   `cbor:"parts,omitempty"`
	DFU        *dfu     `cbor:"dfu,omitempty"`
}

type dfu struct {
	Address uint64 `cbor:"address,omitempty"`
	Lock    bool   `cbor:"read_out_protection,omitempty"`
}

type attribute struct {
	Type  string `cbor:"0,keyasint"`
	Value string `cbor:"1,keyasint"`
}

type answer struct {
	RC  *int64 `cbor:"rc"`
	Rsn string `cbor:"rsn"`
	Err *struct {
		Group uint64 `cbor:"group"`
		RC    int64  `cbor:"rc"`
	} `cbor:"err"`
	Images []struct {
		Image   int    `cbor:"image"`
		Slot    int    `cbor:"slot"`
		Version string `cbor:"version"`
		Hash    []byte `cbor:"hash"`
		Active  bool   `cbor:"active"`
	} `cbor:"images"`
	Off     *int64      `cbor:"off"`
	Subject [][2]string `cbor:"subject"`
	Small   int8        `cbor:"small"`
	Tiny    uint16      `cbor:"tiny"`
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestHeadsAreShortest(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{uint64(0), "00"}, {uint64(23), "17"}, {uint64(24), "1818"}, {uint64(255), "18ff"},
		{uint64(256), "190100"}, {uint64(65535), "19ffff"}, {uint64(65536), "1a00010000"},
		{uint64(math.MaxUint32), "1affffffff"}, {uint64(math.MaxUint32 + 1), "1b0000000100000000"},
		{int64(-1), "20"}, {int64(-24), "37"}, {int64(-25), "3818"}, {int64(math.MinInt64), "3b7fffffffffffffff"},
		{"", "60"}, {"a", "6161"}, {[]byte{}, "40"}, {[]byte{1, 2}, "420102"}, {[2]byte{1, 2}, "420102"},
		{true, "f5"}, {false, "f4"}, {nil, "f6"}, {[]string(nil), "f6"}, {[]int{1, -1}, "820120"},
		{map[string]int{"b": 1, "a": 2, "aa": 3}, "a3616102616201626161" + "03"},
	} {
		got, err := Marshal(c.v)
		if err != nil {
			t.Fatalf("Marshal(%#v): %v", c.v, err)
		}
		if hex.EncodeToString(got) != c.want {
			t.Errorf("Marshal(%#v) = %x, want %s", c.v, got, c.want)
		}
	}
}

func TestDeterministicOrdersKeysAndEmptiesNil(t *testing.T) {
	m := manifest{Format: 1, Product: "p", Image: info{SHA256: []byte{1}, Size: 2}}
	got, err := MarshalDeterministic(m)
	if err != nil {
		t.Fatal(err)
	}
	// Keys by their encoded bytes: the shorter text head sorts first.
	want := mustHex("a8" +
		"65696d616765" + "a2" + "6473697a6502" + "66736861323536" + "4101" + // "image"
		"66666f726d6174" + "01" + // "format"
		"6763726561746564" + "00" + // "created"
		"6770726f64756374" + "6170" + // "product"
		"6776657273696f6e" + "60" + // "version"
		"6868617264776172 65" + "80" + // "hardware"
		"6a70617373706872617365" + "f4" + // "passphrase"
		"6a726563697069656e7473" + "80") // "recipients"
	if !bytes.Equal(got, want) {
		t.Errorf("MarshalDeterministic = %x\nwant                   %x", got, want)
	}
	plain, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(plain, mustHex("a8 66666f726d6174 01")) || !bytes.Contains(plain, mustHex("6868617264776172 65 f6")) {
		t.Errorf("Marshal keeps declaration order and writes nil as null: %x", plain)
	}
	ints, err := MarshalDeterministic([]attribute{{"CN", "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := mustHex("81 a2 00 62434e 01 6178"); !bytes.Equal(ints, want) {
		t.Errorf("keyasint: %x, want %x", ints, want)
	}
}

func TestRoundTrip(t *testing.T) {
	in := manifest{
		Format: 1, Product: "thermo", Version: "1.2.3+4", Hardware: []string{"rev-a", "rev-b"},
		Created: 1700000000, Image: info{SHA256: bytes.Repeat([]byte{0xab}, 32), Size: 1 << 33},
		Recipients: []string{"age1x"}, Notes: "ünïcode", Parts: []part{{Name: "app", Offset: 0x10000, Size: 9, SHA256: []byte{1}, Encrypt: true}},
		DFU: &dfu{Address: 0x08000000, Lock: true},
	}
	for _, enc := range []func(any) ([]byte, error){Marshal, MarshalDeterministic} {
		b, err := enc(in)
		if err != nil {
			t.Fatal(err)
		}
		var out manifest
		if err := UnmarshalStrict(b, &out, Limits{MaxNested: 4, MaxArray: 128, MaxPairs: 32}); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(in, out) {
			t.Errorf("round trip: got %+v, want %+v", out, in)
		}
	}
}

// Zephyr's SMP server writes indefinite-length maps and arrays, and boards
// may add keys a client does not know, of any type.
func TestUnmarshalReadsWhatBoardsWrite(t *testing.T) {
	b := mustHex("bf" +
		"6272630a" + // "rc": 10
		"63727368" + "7f 6161 6162 ff" + // "rsh" (unknown) as an indefinite text string
		"66696d61676573 9f bf 65696d61676500 64736c6f7401 6776657273696f6e 65312e302e30 6468617368 43010203 66616374697665 f5 66657874726173 fb3ff8000000000000 ff ff" + // "images": [{…, "extras": 1.5}]
		"636f6666 1903e8" + // "off": 1000
		"677375626a656374 81 82 624f55 6161" + // "subject": [["OU","a"]]
		"65736d616c6c 37" + // "small": -24
		"6454494e59 19ffff" + // "TINY" (matched without case)
		"ff")
	var a answer
	if err := Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	if a.RC == nil || *a.RC != 10 || a.Off == nil || *a.Off != 1000 || a.Small != -24 || a.Tiny != 65535 {
		t.Errorf("integers: %+v", a)
	}
	if len(a.Images) != 1 || a.Images[0].Slot != 1 || a.Images[0].Version != "1.0.0" || !bytes.Equal(a.Images[0].Hash, []byte{1, 2, 3}) || !a.Images[0].Active {
		t.Errorf("images: %+v", a.Images)
	}
	if len(a.Subject) != 1 || a.Subject[0] != [2]string{"OU", "a"} {
		t.Errorf("subject: %q", a.Subject)
	}
	if err := UnmarshalStrict(b, &a, Limits{}); err == nil || !strings.Contains(err.Error(), "indefinite-length map") {
		t.Errorf("strict decoding of an indefinite map: %v", err)
	}
}

func TestUnmarshalRefuses(t *testing.T) {
	lim := Limits{MaxNested: 4, MaxArray: 4, MaxPairs: 32}
	for _, c := range []struct {
		name, in string
		strict   bool
		want     string
	}{
		{"empty", "", false, "byte 0: no data"},
		{"truncated head", "a1 6473697a65 19 01", false, "byte 6: unexpected end of data in an item's head"},
		{"truncated string", "a1 6473697a65 45 0102", false, "byte 6: byte string of 5 bytes runs past the end"},
		{"trailing", "a0 00", false, "byte 1: 1 bytes after the item"},
		{"reserved", "1c", false, "reserved additional information 28"},
		{"stray break", "a1 6473697a65 ff", false, "break outside an indefinite-length item"},
		{"two-byte simple", "f810", false, "simple value 16 in two bytes"},
		{"bad utf-8", "a1 6776657273696f6e 62 c328", false, "text string is not valid UTF-8"},
		{"wrong type", "a1 6473697a65 6131", false, `text string where uint64 expected (key "size")`},
		{"negative into uint", "a1 6473697a65 20", false, `negative integer where uint64 expected (key "size")`},
		{"overflow", "a1 65736d616c6c 1880", false, `128 overflows int8 (key "small")`},
		{"chunk of another type", "a1 6776657273696f6e 7f 4101 ff", false, "a chunk of an indefinite-length text string is a byte string"},
		{"nested too deep", "a1 68686172647761726 5 81 81 81 81 00", true, "nested deeper than 4 levels"},
		{"array too long", "a1 6868617264776172 65 85 6161 6161 6161 6161 6161", true, "array of 5 entries (at most 4)"},
		{"unknown key", "a1 63666f6f 00", true, `unknown key "foo"`},
		{"case-folded key", "a1 6453495a45 01", true, `unknown key`},
		{"duplicate key", "a2 6473697a6501 6473697a6502", true, `key "size" given twice`},
		{"tag", "a1 6473697a65 c1 01", false, "tag 1: tags are not allowed"},
		{"integer key", "a1 01 01", true, "unknown key 1"},
		{"array key", "a1 80 01", false, "map key is a array"},
		{"byte-string key", "a1 4161 01", false, "map key is a byte string"},
		{"length beyond data", "9b 0000000100000000", false, "array of 4294967296 entries (at most 131072)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := mustHex(strings.ReplaceAll(c.in, " ", ""))
			var m struct {
				Size     uint64   `cbor:"size"`
				Small    int8     `cbor:"small"`
				Version  string   `cbor:"version"`
				Hardware []any    `cbor:"hardware"`
				List     []string `cbor:"list"`
			}
			var err error
			if c.strict {
				err = UnmarshalStrict(b, &m, lim)
			} else {
				err = Unmarshal(b, &m)
			}
			var e *Error
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error with %q", err, c.want)
			}
			if !errors.As(err, &e) && c.name != "nested too deep" {
				t.Errorf("%v is not an *Error", err)
			}
		})
	}
}

func TestUnmarshalLeavesValueOnBadInput(t *testing.T) {
	m := manifest{Product: "kept"}
	// a well-formed product, then a truncated item: the first pass refuses
	// the input before anything is written.
	b := mustHex("a2 6770726f64756374 6161 66666f726d6174 19")
	if err := Unmarshal(b, &m); err == nil {
		t.Fatal("truncated input accepted")
	}
	if m.Product != "kept" {
		t.Errorf("Product = %q after a refused input", m.Product)
	}
}

func TestNullZeroesPointersAndSlices(t *testing.T) {
	one := int64(1)
	a := answer{RC: &one, Subject: [][2]string{{"a", "b"}}, Small: 3}
	if err := Unmarshal(mustHex("a3 627263 f6 677375626a656374 f7 65736d616c6c f6"), &a); err != nil {
		t.Fatal(err)
	}
	if a.RC != nil || a.Subject != nil || a.Small != 3 {
		t.Errorf("after nulls: %+v", a)
	}
}

func TestMarshalRefusesFloatsAndCycles(t *testing.T) {
	if _, err := Marshal(struct{ F float64 }{1}); err == nil || !strings.Contains(err.Error(), "float64") {
		t.Errorf("float: %v", err)
	}
	type node struct{ Next any }
	n := &node{}
	n.Next = n
	if _, err := Marshal(n); err == nil {
		t.Error("a cycle encoded")
	}
	if _, err := Marshal(struct {
		A int `cbor:"x"`
		B int `cbor:"x"`
	}{}); err == nil || !strings.Contains(err.Error(), "two fields") {
		t.Errorf("duplicate field keys: %v", err)
	}
}

func TestUnmarshalNeedsPointer(t *testing.T) {
	var m manifest
	if err := Unmarshal([]byte{0xa0}, m); err == nil {
		t.Error("a non-pointer accepted")
	}
	if err := Unmarshal([]byte{0xa0}, (*manifest)(nil)); err == nil {
		t.Error("a nil pointer accepted")
	}
}

// A key given twice in an SMP answer keeps its first value, as the
// implementation the console used before did; a strict decoder refuses it.
func TestRepeatedKeyKeepsFirstValue(t *testing.T) {
	b := mustHex("a2 636f6666 01 634f4646 02") // "off": 1, "OFF": 2
	var a answer
	if err := Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	if a.Off == nil || *a.Off != 1 {
		t.Errorf("off = %v, want the first value, 1", a.Off)
	}
}
