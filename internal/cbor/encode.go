// Package cbor encodes and decodes the CBOR (RFC 8949) trustforge speaks:
// the release and production manifests, which must have exactly one
// encoding, and the SMP bodies boards exchange with the console.
//
// Values map to CBOR by reflection, like encoding/json's: booleans, integers
// of every size, strings (text), byte slices and byte arrays (byte strings),
// other slices and arrays, maps, pointers and interfaces (null when nil), and
// structs as maps keyed by their fields' names. A field's `cbor` tag (or,
// without one, its `json` tag) renames it; "keyasint" makes the key the
// integer the name spells, "omitempty" leaves the field out when it is false,
// zero, empty or nil, and "-" leaves it out always. Floating-point numbers
// are neither written nor read into values: nothing trustforge exchanges
// carries one, and a decoder skips them where it skips unknown fields.
// Tags are refused.
//
// The package is written for the console's size as much as for its
// behaviour: a general-purpose codec with options for every use costs the
// console's WebAssembly module far more than the two modes it needs.
package cbor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Major types, as the top three bits of an item's initial byte.
const (
	majorUint   = 0
	majorNeg    = 1
	majorBytes  = 2
	majorText   = 3
	majorArray  = 4
	majorMap    = 5
	majorTag    = 6
	majorSimple = 7
)

// Simple values and the additional information that marks an indefinite
// length.
const (
	simpleFalse     = 0xf4
	simpleTrue      = 0xf5
	simpleNull      = 0xf6
	simpleUndefined = 0xf7
	aiIndefinite    = 31
	breakByte       = 0xff
)

// maxEncodeDepth bounds how deep Marshal follows pointers and containers,
// so a value that refers to itself fails instead of overflowing the stack.
const maxEncodeDepth = 64

// appendHead appends an item's head: its major type and argument n in the
// shortest form, as deterministic encoding requires and every encoder here
// writes.
func appendHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= 0xff:
		return append(b, m|24, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, m|25), uint16(n))
	case n <= 0xffffffff:
		return binary.BigEndian.AppendUint32(append(b, m|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, m|27), n)
}

// appendInt appends a signed integer: major type 0 for n ≥ 0, 1 below.
func appendInt(b []byte, n int64) []byte {
	if n >= 0 {
		return appendHead(b, majorUint, uint64(n))
	}
	return appendHead(b, majorNeg, uint64(-(n + 1)))
}

// Marshal returns v's CBOR encoding: struct fields in their declaration
// order, map entries by their encoded keys, nil slices, maps, pointers and
// interfaces as null. It is the encoding SMP requests use.
func Marshal(v any) ([]byte, error) {
	e := encoder{}
	return e.value(nil, reflect.ValueOf(v), 0)
}

// MarshalDeterministic returns v's core deterministic encoding (RFC 8949
// §4.2.1): shortest heads, definite lengths, every map's entries (a
// struct's fields too) ordered by their encoded keys bytewise, and nil
// slices and maps as empty ones. A value has exactly one such encoding,
// which is what a signature over a manifest needs.
func MarshalDeterministic(v any) ([]byte, error) {
	e := encoder{deterministic: true}
	return e.value(nil, reflect.ValueOf(v), 0)
}

// encoder carries Marshal's mode.
type encoder struct {
	deterministic bool
}

// An UnsupportedTypeError is returned by Marshal for a value it cannot
// encode (floats, channels, functions, complex numbers, and maps whose keys
// are not strings or integers).
type UnsupportedTypeError struct {
	Type reflect.Type
}

func (e *UnsupportedTypeError) Error() string {
	return "cbor: cannot encode a value of type " + e.Type.String()
}

func (e *encoder) value(b []byte, v reflect.Value, depth int) ([]byte, error) {
	if depth > maxEncodeDepth {
		return nil, errors.New("cbor: value nested too deep (a cycle?)")
	}
	if !v.IsValid() {
		return append(b, simpleNull), nil
	}
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			return append(b, simpleTrue), nil
		}
		return append(b, simpleFalse), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return appendInt(b, v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return appendHead(b, majorUint, v.Uint()), nil
	case reflect.String:
		s := v.String()
		return append(appendHead(b, majorText, uint64(len(s))), s...), nil
	case reflect.Slice:
		if v.IsNil() && !e.deterministic {
			return append(b, simpleNull), nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return append(appendHead(b, majorBytes, uint64(v.Len())), v.Bytes()...), nil
		}
		return e.array(b, v, depth)
	case reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b = appendHead(b, majorBytes, uint64(v.Len()))
			for i := range v.Len() {
				b = append(b, byte(v.Index(i).Uint()))
			}
			return b, nil
		}
		return e.array(b, v, depth)
	case reflect.Map:
		if v.IsNil() && !e.deterministic {
			return append(b, simpleNull), nil
		}
		return e.mapValue(b, v, depth)
	case reflect.Struct:
		return e.structValue(b, v, depth)
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return append(b, simpleNull), nil
		}
		return e.value(b, v.Elem(), depth+1)
	}
	return nil, &UnsupportedTypeError{v.Type()}
}

func (e *encoder) array(b []byte, v reflect.Value, depth int) ([]byte, error) {
	b = appendHead(b, majorArray, uint64(v.Len()))
	for i := range v.Len() {
		var err error
		if b, err = e.value(b, v.Index(i), depth+1); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// mapValue writes a map's entries ordered by their encoded keys, in both
// modes, so that equal maps always encode alike.
func (e *encoder) mapValue(b []byte, v reflect.Value, depth int) ([]byte, error) {
	switch v.Type().Key().Kind() {
	case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
	default:
		return nil, &UnsupportedTypeError{v.Type()}
	}
	type entry struct{ key, val []byte }
	entries := make([]entry, 0, v.Len())
	it := v.MapRange()
	for it.Next() {
		k, err := e.value(nil, it.Key(), depth+1)
		if err != nil {
			return nil, err
		}
		val, err := e.value(nil, it.Value(), depth+1)
		if err != nil {
			return nil, err
		}
		entries = append(entries, entry{k, val})
	}
	slices.SortFunc(entries, func(x, y entry) int { return bytes.Compare(x.key, y.key) })
	b = appendHead(b, majorMap, uint64(len(entries)))
	for _, en := range entries {
		b = append(append(b, en.key...), en.val...)
	}
	return b, nil
}

func (e *encoder) structValue(b []byte, v reflect.Value, depth int) ([]byte, error) {
	info, err := structOf(v.Type())
	if err != nil {
		return nil, err
	}
	fields := info.fields
	if e.deterministic {
		fields = info.sorted
	}
	n := 0
	for i := range fields {
		if !fields[i].omitEmpty || !isEmpty(v.Field(fields[i].index)) {
			n++
		}
	}
	b = appendHead(b, majorMap, uint64(n))
	for i := range fields {
		f := &fields[i]
		fv := v.Field(f.index)
		if f.omitEmpty && isEmpty(fv) {
			continue
		}
		b = append(b, f.key...)
		if b, err = e.value(b, fv, depth+1); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// isEmpty reports whether omitempty leaves v out.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		return v.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// field is a struct field as CBOR sees it.
type field struct {
	index     int
	name      string // for messages: the key's text, or its number
	key       []byte // the key, encoded
	text      string // a text key
	num       int64  // an integer key
	isNum     bool
	omitEmpty bool
}

// structInfo is a struct type's fields, in declaration order and in
// deterministic order (by encoded key).
type structInfo struct {
	fields []field
	sorted []field
}

var structCache sync.Map // reflect.Type → *structInfo or error

func structOf(t reflect.Type) (*structInfo, error) {
	if c, ok := structCache.Load(t); ok {
		if err, isErr := c.(error); isErr {
			return nil, err
		}
		return c.(*structInfo), nil
	}
	info, err := buildStruct(t)
	if err != nil {
		structCache.Store(t, err)
		return nil, err
	}
	structCache.Store(t, info)
	return info, nil
}

func buildStruct(t reflect.Type) (*structInfo, error) {
	info := &structInfo{}
	seen := map[string]bool{}
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag, ok := sf.Tag.Lookup("cbor")
		if !ok {
			tag = sf.Tag.Get("json")
		}
		if tag == "-" {
			continue
		}
		if sf.Anonymous && tag == "" {
			return nil, fmt.Errorf("cbor: %s.%s: embedded fields need a name tag", t, sf.Name)
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = sf.Name
		}
		f := field{index: i, name: name}
		for _, o := range strings.Split(opts, ",") {
			switch o {
			case "omitempty":
				f.omitEmpty = true
			case "keyasint":
				n, err := strconv.ParseInt(name, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("cbor: %s.%s: keyasint key %q is not an integer", t, sf.Name, name)
				}
				f.num, f.isNum = n, true
			}
		}
		if f.isNum {
			f.key = appendInt(nil, f.num)
		} else {
			f.text = name
			f.key = append(appendHead(nil, majorText, uint64(len(name))), name...)
		}
		if seen[string(f.key)] {
			return nil, fmt.Errorf("cbor: %s: two fields have the key %s", t, name)
		}
		seen[string(f.key)] = true
		info.fields = append(info.fields, f)
	}
	info.sorted = slices.Clone(info.fields)
	slices.SortFunc(info.sorted, func(x, y field) int { return bytes.Compare(x.key, y.key) })
	return info, nil
}
