package cbor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits bound what a decoder accepts, so that a reader's memory and stack
// stay bounded whatever the bytes. Zero fields take the defaults.
type Limits struct {
	// MaxNested bounds how deep arrays and maps sit within each other;
	// the outermost counts as one. Default 32.
	MaxNested int
	// MaxArray bounds the elements of one array. Default 131,072.
	MaxArray int
	// MaxPairs bounds the entries of one map. Default 131,072.
	MaxPairs int
}

func (l Limits) withDefaults() Limits {
	if l.MaxNested <= 0 {
		l.MaxNested = 32
	}
	if l.MaxArray <= 0 {
		l.MaxArray = 131072
	}
	if l.MaxPairs <= 0 {
		l.MaxPairs = 131072
	}
	return l
}

// An Error reports bytes a decoder refused: ill-formed CBOR, CBOR its mode
// does not allow, or an item that does not fit the Go value.
type Error struct {
	// Offset is where the refused item starts in the input.
	Offset int
	// Key names the map key whose value was refused, when there is one.
	Key string
	msg string
}

func (e *Error) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("cbor: byte %d: %s (key %q)", e.Offset, e.msg, e.Key)
	}
	return fmt.Sprintf("cbor: byte %d: %s", e.Offset, e.msg)
}

// Unmarshal decodes the one CBOR item b holds into v, a non-nil pointer, as
// SMP answers are read: definite or indefinite lengths, keys v has no
// field for skipped, a repeated key's first value kept. Tags are refused:
// nothing trustforge reads carries one. b must hold a well-formed item and nothing after it,
// its text strings valid UTF-8, within the default Limits.
func Unmarshal(b []byte, v any) error {
	return decode(b, v, false, Limits{})
}

// UnmarshalStrict is Unmarshal for data that has one encoding, such as a
// signed manifest: it also refuses indefinite lengths, a key v has no
// field for, and a key given twice, and applies lim. It does not insist
// on the shortest form: re-encode with MarshalDeterministic and compare to
// know that b is the canonical encoding.
func UnmarshalStrict(b []byte, v any, lim Limits) error {
	return decode(b, v, true, lim)
}

func decode(b []byte, v any, strict bool, lim Limits) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errors.New("cbor: Unmarshal needs a non-nil pointer")
	}
	d := &decoder{b: b, strict: strict, lim: lim.withDefaults()}
	if len(b) == 0 {
		return d.errf(0, "no data")
	}
	// The first pass checks the whole input, so the second may read it
	// without checking bounds and leaves v alone when the bytes are bad.
	if err := d.skip(0); err != nil {
		return err
	}
	if d.off != len(b) {
		return d.errf(d.off, "%d bytes after the item", len(b)-d.off)
	}
	d.off = 0
	return d.value(rv.Elem())
}

// decoder reads b from off.
type decoder struct {
	b      []byte
	off    int
	strict bool
	lim    Limits
}

func (d *decoder) errf(off int, format string, args ...any) error {
	return &Error{Offset: off, msg: fmt.Sprintf(format, args...)}
}

// head reads the head of the item at off: its major type, additional
// information and argument (0 for an indefinite length).
func (d *decoder) head() (major, ai byte, arg uint64, err error) {
	start := d.off
	if d.off >= len(d.b) {
		return 0, 0, 0, d.errf(start, "unexpected end of data")
	}
	ib := d.b[d.off]
	d.off++
	major, ai = ib>>5, ib&0x1f
	switch {
	case ai < 24:
		arg = uint64(ai)
	case ai <= 27:
		n := 1 << (ai - 24)
		if len(d.b)-d.off < n {
			return 0, 0, 0, d.errf(start, "unexpected end of data in an item's head")
		}
		p := d.b[d.off : d.off+n]
		switch n {
		case 1:
			arg = uint64(p[0])
		case 2:
			arg = uint64(binary.BigEndian.Uint16(p))
		case 4:
			arg = uint64(binary.BigEndian.Uint32(p))
		default:
			arg = binary.BigEndian.Uint64(p)
		}
		d.off += n
	case ai == aiIndefinite:
	default:
		return 0, 0, 0, d.errf(start, "reserved additional information %d", ai)
	}
	return major, ai, arg, nil
}

// atBreak reports whether the byte at off ends an indefinite-length item,
// and steps over it if so.
func (d *decoder) atBreak() (bool, error) {
	if d.off >= len(d.b) {
		return false, d.errf(d.off, "unexpected end of data before a break")
	}
	if d.b[d.off] == breakByte {
		d.off++
		return true, nil
	}
	return false, nil
}

var kinds = [...]string{"unsigned integer", "negative integer", "byte string", "text string", "array", "map", "tag", "simple value"}

// skip steps over one item, checking that it is well formed and allowed;
// depth is how many containers hold it.
func (d *decoder) skip(depth int) error {
	start := d.off
	major, ai, arg, err := d.head()
	if err != nil {
		return err
	}
	switch major {
	case majorUint, majorNeg:
		if ai == aiIndefinite {
			return d.errf(start, "%s with an indefinite length", kinds[major])
		}
	case majorBytes, majorText:
		if ai != aiIndefinite {
			_, err := d.stringBytes(start, major, arg)
			return err
		}
		if d.strict {
			return d.errf(start, "indefinite-length %s", kinds[major])
		}
		for {
			end, err := d.atBreak()
			if err != nil || end {
				return err
			}
			cs := d.off
			m, cai, n, err := d.head()
			if err != nil {
				return err
			}
			if m != major || cai == aiIndefinite {
				return d.errf(cs, "a chunk of an indefinite-length %s is a %s", kinds[major], kinds[m])
			}
			if _, err := d.stringBytes(cs, m, n); err != nil {
				return err
			}
		}
	case majorArray, majorMap:
		depth++
		if depth > d.lim.MaxNested {
			return d.errf(start, "nested deeper than %d levels", d.lim.MaxNested)
		}
		per, limit := 1, d.lim.MaxArray
		if major == majorMap {
			per, limit = 2, d.lim.MaxPairs
		}
		if ai == aiIndefinite {
			if d.strict {
				return d.errf(start, "indefinite-length %s", kinds[major])
			}
			for n := 0; ; n++ {
				end, err := d.atBreak()
				if err != nil || end {
					return err
				}
				if n >= limit {
					return d.errf(start, "%s of more than %d entries", kinds[major], limit)
				}
				for range per {
					if err := d.skip(depth); err != nil {
						return err
					}
				}
			}
		}
		if arg > uint64(limit) {
			return d.errf(start, "%s of %d entries (at most %d)", kinds[major], arg, limit)
		}
		if arg*uint64(per) > uint64(len(d.b)-d.off) {
			return d.errf(start, "%s of %d entries runs past the end of the data", kinds[major], arg)
		}
		for range arg * uint64(per) {
			if err := d.skip(depth); err != nil {
				return err
			}
		}
	case majorTag:
		return d.errf(start, "tag %d: tags are not allowed", arg)
	case majorSimple:
		switch {
		case ai == aiIndefinite:
			return d.errf(start, "break outside an indefinite-length item")
		case ai == 24 && arg < 32:
			return d.errf(start, "simple value %d in two bytes", arg)
		}
	}
	return nil
}

// stringBytes steps over the n bytes of a definite-length string whose head
// started at start and returns them; a text string must be valid UTF-8.
func (d *decoder) stringBytes(start int, major byte, n uint64) ([]byte, error) {
	if n > uint64(len(d.b)-d.off) {
		return nil, d.errf(start, "%s of %d bytes runs past the end of the data", kinds[major], n)
	}
	p := d.b[d.off : d.off+int(n)]
	if major == majorText && !utf8.Valid(p) {
		return nil, d.errf(start, "text string is not valid UTF-8")
	}
	d.off += int(n)
	return p, nil
}

// content reads a (checked) string's bytes: its own for a definite length,
// its chunks joined for an indefinite one.
func (d *decoder) content(ai byte, arg uint64) []byte {
	if ai != aiIndefinite {
		p := d.b[d.off : d.off+int(arg)]
		d.off += int(arg)
		return p
	}
	var p []byte
	for d.b[d.off] != breakByte {
		_, _, n, _ := d.head()
		p = append(p, d.b[d.off:d.off+int(n)]...)
		d.off += int(n)
	}
	d.off++
	return p
}

func (d *decoder) typeErr(start int, major byte, t reflect.Type) error {
	return d.errf(start, "%s where %s expected", kinds[major], t)
}

// value decodes the (checked) item at off into v.
func (d *decoder) value(v reflect.Value) error {
	start := d.off
	if ib := d.b[d.off]; ib == simpleNull || ib == simpleUndefined {
		d.off++
		switch v.Kind() {
		case reflect.Slice, reflect.Map, reflect.Interface, reflect.Pointer:
			v.SetZero()
		}
		return nil
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return d.value(v.Elem())
	}
	major, ai, arg, _ := d.head()
	switch major {
	case majorUint:
		switch v.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if arg > math.MaxInt64 || v.OverflowInt(int64(arg)) {
				return d.errf(start, "%d overflows %s", arg, v.Type())
			}
			v.SetInt(int64(arg))
			return nil
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			if v.OverflowUint(arg) {
				return d.errf(start, "%d overflows %s", arg, v.Type())
			}
			v.SetUint(arg)
			return nil
		}
	case majorNeg:
		switch v.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if arg > math.MaxInt64 || v.OverflowInt(-1-int64(arg)) {
				return d.errf(start, "-1-%d overflows %s", arg, v.Type())
			}
			v.SetInt(-1 - int64(arg))
			return nil
		}
	case majorBytes:
		switch {
		case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8:
			v.SetBytes(append([]byte{}, d.content(ai, arg)...))
			return nil
		case v.Kind() == reflect.Array && v.Type().Elem().Kind() == reflect.Uint8:
			p := d.content(ai, arg)
			for i := range v.Len() {
				var c byte
				if i < len(p) {
					c = p[i]
				}
				v.Index(i).SetUint(uint64(c))
			}
			return nil
		}
	case majorText:
		if v.Kind() == reflect.String {
			v.SetString(string(d.content(ai, arg)))
			return nil
		}
	case majorArray:
		switch v.Kind() {
		case reflect.Slice:
			return d.slice(v, ai, arg)
		case reflect.Array:
			return d.array(v, ai, arg)
		}
	case majorMap:
		if v.Kind() == reflect.Struct {
			return d.structValue(v, ai, arg)
		}
	case majorSimple:
		if (ai == simpleFalse&0x1f || ai == simpleTrue&0x1f) && v.Kind() == reflect.Bool {
			v.SetBool(ai == simpleTrue&0x1f)
			return nil
		}
	}
	return d.typeErr(start, major, v.Type())
}

func (d *decoder) slice(v reflect.Value, ai byte, arg uint64) error {
	t := v.Type()
	if ai != aiIndefinite {
		s := reflect.MakeSlice(t, int(arg), int(arg))
		for i := range int(arg) {
			if err := d.value(s.Index(i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	}
	s := reflect.MakeSlice(t, 0, 0)
	for d.more(ai, arg, uint64(s.Len())) {
		s = reflect.Append(s, reflect.Zero(t.Elem()))
		if err := d.value(s.Index(s.Len() - 1)); err != nil {
			return err
		}
	}
	v.Set(s)
	return nil
}

// more reports whether a (checked) array or map, of the length ai and arg
// give, has an entry after the n read so far; at the break ending an
// indefinite length it steps over the break and says no.
func (d *decoder) more(ai byte, arg, n uint64) bool {
	if ai != aiIndefinite {
		return n < arg
	}
	if d.b[d.off] == breakByte {
		d.off++
		return false
	}
	return true
}

// array fills a Go array from a CBOR array: extra elements are skipped,
// missing ones left zero.
func (d *decoder) array(v reflect.Value, ai byte, arg uint64) error {
	i := 0
	for ; d.more(ai, arg, uint64(i)); i++ {
		if i >= v.Len() {
			d.skip(0)
			continue
		}
		if err := d.value(v.Index(i)); err != nil {
			return err
		}
	}
	for ; i < v.Len(); i++ {
		v.Index(i).SetZero()
	}
	return nil
}

func (d *decoder) structValue(v reflect.Value, ai byte, arg uint64) error {
	info, err := structOf(v.Type())
	if err != nil {
		return err
	}
	seen := make([]bool, len(info.fields))
	for n := uint64(0); d.more(ai, arg, n); n++ {
		keyOff := d.off
		i, name, err := d.key(info)
		if err != nil {
			return err
		}
		if i < 0 {
			if d.strict {
				return d.errf(keyOff, "unknown key %s", name)
			}
			d.skip(0)
			continue
		}
		if seen[i] {
			if d.strict {
				return d.errf(keyOff, "key %s given twice", name)
			}
			d.skip(0) // the first value stands
			continue
		}
		seen[i] = true
		if err := d.value(v.Field(info.fields[i].index)); err != nil {
			if e, ok := err.(*Error); ok && e.Key == "" {
				e.Key = info.fields[i].name
			}
			return err
		}
	}
	return nil
}

// key reads a map key and returns the index of the field it names in info
// (-1 for none) and the key as text for messages. A key that is neither
// text nor an integer, or an integer beyond int64, is an error.
func (d *decoder) key(info *structInfo) (int, string, error) {
	start := d.off
	switch major := d.b[d.off] >> 5; major {
	case majorText:
		_, ai, arg, _ := d.head()
		k := string(d.content(ai, arg))
		for i := range info.fields {
			if !info.fields[i].isNum && info.fields[i].text == k {
				return i, strconv.Quote(k), nil
			}
		}
		if !d.strict {
			for i := range info.fields {
				if !info.fields[i].isNum && strings.EqualFold(info.fields[i].text, k) {
					return i, strconv.Quote(k), nil
				}
			}
		}
		return -1, strconv.Quote(k), nil
	case majorUint, majorNeg:
		_, _, arg, _ := d.head()
		if arg > math.MaxInt64 {
			return 0, "", d.errf(start, "map key %s overflows int64", kinds[major])
		}
		k := int64(arg)
		if major == majorNeg {
			k = -1 - k
		}
		for i := range info.fields {
			if info.fields[i].isNum && info.fields[i].num == k {
				return i, strconv.FormatInt(k, 10), nil
			}
		}
		return -1, strconv.FormatInt(k, 10), nil
	default:
		return 0, "", d.errf(start, "map key is a %s (want text or an integer)", kinds[major])
	}
}
