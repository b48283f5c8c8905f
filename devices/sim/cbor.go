package sim

import "github.com/fxamacker/cbor/v2"

// kv is one entry of an answer map.
type kv struct {
	k string
	v any
}

// imap is a CBOR map encoded with indefinite length (bf … ff), in the order
// given, as Zephyr's encoder writes answers.
type imap []kv

// MarshalCBOR encodes m as an indefinite-length map.
func (m imap) MarshalCBOR() ([]byte, error) {
	b := []byte{0xbf}
	for _, e := range m {
		k, err := cbor.Marshal(e.k)
		if err != nil {
			return nil, err
		}
		v, err := cbor.Marshal(e.v)
		if err != nil {
			return nil, err
		}
		b = append(append(b, k...), v...)
	}
	return append(b, 0xff), nil
}

// ilist is a CBOR array encoded with indefinite length (9f … ff).
type ilist []any

// MarshalCBOR encodes l as an indefinite-length array.
func (l ilist) MarshalCBOR() ([]byte, error) {
	b := []byte{0x9f}
	for _, e := range l {
		v, err := cbor.Marshal(e)
		if err != nil {
			return nil, err
		}
		b = append(b, v...)
	}
	return append(b, 0xff), nil
}
