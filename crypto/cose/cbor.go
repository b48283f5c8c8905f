package cose

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// The few CBOR encodings (RFC 8949) a COSE_Sign1 and its protected header
// need: heads in their shortest form, byte and text strings, integers and
// maps of them.

// appendHead appends a data item head of major type major (already shifted)
// with argument v in its shortest form (RFC 8949, section 4.2.1).
func appendHead(b []byte, major byte, v uint64) []byte {
	switch {
	case v < 24:
		return append(b, major|byte(v))
	case v <= math.MaxUint8:
		return append(b, major|24, byte(v))
	case v <= math.MaxUint16:
		return append(b, major|25, byte(v>>8), byte(v))
	case v <= math.MaxUint32:
		return append(b, major|26, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return append(b, major|27, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// decoder reads data items from b.
type decoder struct {
	b   []byte
	off int
}

var errTruncated = errors.New("cose: truncated")

// head reads a data item head: its major type (unshifted) and argument. It
// refuses indefinite lengths, reserved values and arguments not in their
// shortest form.
func (d *decoder) head() (major byte, v uint64, err error) {
	if d.off >= len(d.b) {
		return 0, 0, errTruncated
	}
	c := d.b[d.off]
	d.off++
	major, info := c>>5, c&0x1f
	if info < 24 {
		return major, uint64(info), nil
	}
	if info > 27 {
		return 0, 0, fmt.Errorf("cose: CBOR item %#02x with an indefinite length or reserved value", c)
	}
	n := 1 << (info - 24)
	if len(d.b)-d.off < n {
		return 0, 0, errTruncated
	}
	for _, x := range d.b[d.off : d.off+n] {
		v = v<<8 | uint64(x)
	}
	d.off += n
	if min := []uint64{24, 1 << 8, 1 << 16, 1 << 32}[info-24]; v < min {
		return 0, 0, errors.New("cose: CBOR length or integer not in its shortest form")
	}
	return major, v, nil
}

// bytes reads a byte string; what names it in errors.
func (d *decoder) bytes(what string) ([]byte, error) {
	major, n, err := d.head()
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, what)
	}
	if major != 2 {
		return nil, fmt.Errorf("cose: %s is not a byte string", what)
	}
	if n > uint64(len(d.b)-d.off) {
		return nil, fmt.Errorf("%w (%s)", errTruncated, what)
	}
	s := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return s, nil
}

// maxHeader bounds the parameters of a protected header.
const maxHeader = 16

// ParseHeader decodes a protected header map whose labels are integers and
// whose values are integers (int64), text strings (string, valid UTF-8) or
// byte strings ([]byte, aliasing b): what trustforge's headers hold. It
// refuses duplicate labels, other kinds of values, more than 16 parameters,
// indefinite lengths and anything after the map. It does not require the
// deterministic order; callers that need one encoding compare with their
// own.
func ParseHeader(b []byte) (map[int64]any, error) {
	d := decoder{b: b}
	major, n, err := d.head()
	if err != nil {
		return nil, err
	}
	if major != 5 {
		return nil, errors.New("cose: protected header is not a map")
	}
	if n > maxHeader {
		return nil, fmt.Errorf("cose: protected header of %d parameters (at most %d)", n, maxHeader)
	}
	h := make(map[int64]any, n)
	for range n {
		label, err := d.int()
		if err != nil {
			return nil, fmt.Errorf("cose: header label: %w", err)
		}
		if _, dup := h[label]; dup {
			return nil, fmt.Errorf("cose: header label %d repeated", label)
		}
		if h[label], err = d.value(); err != nil {
			return nil, fmt.Errorf("cose: header %d: %w", label, err)
		}
	}
	if d.off != len(b) {
		return nil, fmt.Errorf("cose: %d bytes after the protected header", len(b)-d.off)
	}
	return h, nil
}

// int reads an integer that fits an int64.
func (d *decoder) int() (int64, error) {
	major, v, err := d.head()
	if err != nil {
		return 0, err
	}
	return toInt(major, v)
}

func toInt(major byte, v uint64) (int64, error) {
	if major > 1 {
		return 0, errors.New("not an integer")
	}
	if v > math.MaxInt64 {
		return 0, errors.New("integer out of range")
	}
	if major == 1 {
		return -1 - int64(v), nil
	}
	return int64(v), nil
}

// value reads an integer, text string or byte string.
func (d *decoder) value() (any, error) {
	major, v, err := d.head()
	if err != nil {
		return nil, err
	}
	switch major {
	case 0, 1:
		return toInt(major, v)
	case 2, 3:
		if v > uint64(len(d.b)-d.off) {
			return nil, errTruncated
		}
		s := d.b[d.off : d.off+int(v)]
		d.off += int(v)
		if major == 2 {
			return s, nil
		}
		if !utf8.Valid(s) {
			return nil, errors.New("text string is not valid UTF-8")
		}
		return string(s), nil
	}
	return nil, fmt.Errorf("value of CBOR major type %d (want an integer or a string)", major)
}

// AppendHeader appends the core deterministic encoding (RFC 8949, section
// 4.2.1) of a protected header map whose values are int64, string or
// []byte: labels sorted by their encoded bytes.
func AppendHeader(b []byte, h map[int64]any) []byte {
	type param struct {
		label []byte
		value any
	}
	params := make([]param, 0, len(h))
	for k, v := range h {
		params = append(params, param{appendInt(nil, k), v})
	}
	for i := 1; i < len(params); i++ { // insertion sort: a handful of labels
		for j := i; j > 0 && lessBytes(params[j].label, params[j-1].label); j-- {
			params[j], params[j-1] = params[j-1], params[j]
		}
	}
	b = appendHead(b, 5<<5, uint64(len(params)))
	for _, p := range params {
		b = append(b, p.label...)
		switch v := p.value.(type) {
		case int64:
			b = appendInt(b, v)
		case string:
			b = appendHead(b, majorText, uint64(len(v)))
			b = append(b, v...)
		case []byte:
			b = appendHead(b, majorByte, uint64(len(v)))
			b = append(b, v...)
		default:
			panic(fmt.Sprintf("cose: header value of type %T", v)) // programmer misuse
		}
	}
	return b
}

func appendInt(b []byte, v int64) []byte {
	if v < 0 {
		return appendHead(b, 1<<5, uint64(-1-v))
	}
	return appendHead(b, 0, uint64(v))
}

// lessBytes orders encoded keys bytewise lexicographically, shorter first
// when one is a prefix of the other (core deterministic encoding).
func lessBytes(a, b []byte) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}
