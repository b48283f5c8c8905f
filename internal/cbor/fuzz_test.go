package cbor

import (
	"bytes"
	"reflect"
	"testing"

	fx "github.com/fxamacker/cbor/v2"
)

// The tests compare this package with an independent, widely used CBOR
// implementation: what one decodes the other must decode alike, and both
// must write the same bytes. The console used that implementation before;
// manifests it signed must read the same now.

var (
	fxStrictLimits = Limits{MaxNested: 4, MaxArray: 16, MaxPairs: 32}
	fxStrict       = func() fx.DecMode {
		m, err := fx.DecOptions{
			DupMapKey:         fx.DupMapKeyEnforcedAPF,
			IndefLength:       fx.IndefLengthForbidden,
			TagsMd:            fx.TagsForbidden,
			ExtraReturnErrors: fx.ExtraDecErrorUnknownField,
			MaxNestedLevels:   fxStrictLimits.MaxNested,
			MaxArrayElements:  fxStrictLimits.MaxArray,
			MaxMapPairs:       fxStrictLimits.MaxPairs,
			UTF8:              fx.UTF8RejectInvalid,
		}.DecMode()
		if err != nil {
			panic(err)
		}
		return m
	}()
	fxDeterministic = func() fx.EncMode {
		m, err := fx.EncOptions{Sort: fx.SortCoreDeterministic, IndefLength: fx.IndefLengthForbidden,
			NilContainers: fx.NilContainerAsEmpty}.EncMode()
		if err != nil {
			panic(err)
		}
		return m
	}()
)

func sameEncodings(t *testing.T, v any) {
	t.Helper()
	// The other writes a map's entries in Go's random order unless told to
	// sort them; this package always sorts.
	if reflect.TypeOf(v).Kind() != reflect.Map {
		ours, err := Marshal(v)
		theirs, ferr := fx.Marshal(v)
		if (err == nil) != (ferr == nil) || !bytes.Equal(ours, theirs) {
			t.Fatalf("Marshal(%+v) = %x, %v; the other = %x, %v", v, ours, err, theirs, ferr)
		}
	}
	ours, err := MarshalDeterministic(v)
	theirs, ferr := fxDeterministic.Marshal(v)
	if (err == nil) != (ferr == nil) || !bytes.Equal(ours, theirs) {
		t.Fatalf("MarshalDeterministic(%+v) = %x, %v; the other = %x, %v", v, ours, err, theirs, ferr)
	}
}

func TestEncodingsMatch(t *testing.T) {
	rc := int64(-3)
	for _, v := range []any{
		manifest{},
		manifest{Format: 1, Product: "thermo", Version: "1.2.3", Hardware: []string{"a"}, Created: 1 << 40,
			Image: info{SHA256: make([]byte, 32), Size: 77}, Recipients: []string{"age1", "age1pq1"}, Notes: "n",
			Parts: []part{{Name: "boot", SHA256: []byte{}}, {Name: "app", Offset: 65536, Encrypt: true}}, DFU: &dfu{Address: 1}},
		[]attribute{{"2.5.4.3", "x"}, {"", ""}},
		answer{RC: &rc, Subject: [][2]string{{"CN", "a"}}, Small: -128, Tiny: 300},
		struct {
			Force int `cbor:"force"`
		}{1},
		map[int64]any{1: int64(-7), 3: "application/cbor", 4: []byte{1}, -65537: []byte{}},
		[]byte(nil), "", uint8(200), int16(-300), true,
	} {
		sameEncodings(t, v)
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, v := range []any{
		manifest{Format: 1, Product: "p", Hardware: []string{"a", "b"}, Parts: []part{{Name: "x", SHA256: []byte{1}}}, DFU: &dfu{Lock: true}},
		answer{Subject: [][2]string{{"a", "b"}}, Small: 5},
	} {
		b, _ := MarshalDeterministic(v)
		f.Add(b)
		b, _ = Marshal(v)
		f.Add(b)
	}
	for _, h := range []string{
		"bf6272630a66696d616765739fbf65696d61676500ff9fffff", // indefinite, as Zephyr answers
		"a2627263f6667375626a656374f7",                       // nulls
		"a16776657273696f6e7f61316132ff",                     // chunked text
		"a1646861736882c24101c3420102",                       // tags
		"a1656c6f636b73fb3ff8000000000000",                   // a float under an unknown key
		"a2647369ba6501647369ba6502",                         // a key twice
		"a16454494e591901f4",                                 // a key in other case
		"9b0000000100000000",                                 // a length beyond the data
		"f810",                                               // a two-byte simple value
	} {
		f.Add(mustHex(h))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ours, theirs answer
		err := Unmarshal(b, &ours)
		if err == nil {
			if ferr := fx.Unmarshal(b, &theirs); ferr != nil {
				t.Fatalf("%x: accepted here, refused by the other: %v", b, ferr)
			}
			if !reflect.DeepEqual(ours, theirs) {
				t.Fatalf("%x: decoded %+v here, %+v by the other", b, ours, theirs)
			}
			sameEncodings(t, ours)
		}

		var om, tm manifest
		err = UnmarshalStrict(b, &om, fxStrictLimits)
		ferr := fxStrict.Unmarshal(b, &tm)
		if err == nil {
			if ferr != nil {
				t.Fatalf("%x: accepted strictly here, refused by the other: %v", b, ferr)
			}
			if !reflect.DeepEqual(om, tm) {
				t.Fatalf("%x: decoded %+v here, %+v by the other", b, om, tm)
			}
			sameEncodings(t, om)
		} else if ferr == nil {
			// The other accepts keys in another case; canonical input never
			// has them, and the manifests' readers accept only canonical
			// input.
			if canon, _ := fxDeterministic.Marshal(tm); bytes.Equal(canon, b) {
				t.Fatalf("%x: canonical input refused here: %v", b, err)
			}
		}
	})
}
