//go:build js && wasm

package browser

import (
	"trustforge/internal/usererr"

	"github.com/hack-pad/safejs"
)

// BytesToJS returns a new Uint8Array holding a copy of b.
func BytesToJS(b []byte) (safejs.Value, error) {
	ctor, err := safejs.Global().Get("Uint8Array")
	if err != nil {
		return safejs.Undefined(), err
	}
	arr, err := ctor.New(len(b))
	if err != nil {
		return safejs.Undefined(), wrapErr(err)
	}
	if _, err := safejs.CopyBytesToJS(arr, b); err != nil {
		return safejs.Undefined(), wrapErr(err)
	}
	return arr, nil
}

// BytesFromJS copies the bytes of a Uint8Array, an ArrayBuffer or any
// ArrayBufferView (a DataView, as WebUSB returns) into a new slice.
func BytesFromJS(v safejs.Value) ([]byte, error) {
	u8, err := asUint8Array(v)
	if err != nil {
		return nil, err
	}
	n, err := u8.Length()
	if err != nil {
		return nil, err
	}
	b := make([]byte, n)
	if _, err := safejs.CopyBytesToGo(b, u8); err != nil {
		return nil, wrapErr(err)
	}
	return b, nil
}

func asUint8Array(v safejs.Value) (safejs.Value, error) {
	g := safejs.Global()
	u8ctor, err := g.Get("Uint8Array")
	if err != nil {
		return safejs.Undefined(), err
	}
	if ok, _ := v.InstanceOf(u8ctor); ok {
		return v, nil
	}
	abctor, err := g.Get("ArrayBuffer")
	if err != nil {
		return safejs.Undefined(), err
	}
	if ok, _ := v.InstanceOf(abctor); ok {
		return u8ctor.New(v)
	}
	// An ArrayBufferView: view its window of the buffer.
	buf, err := v.Get("buffer")
	if err == nil && buf.Type() == safejs.TypeObject {
		off, _ := v.Get("byteOffset")
		n, _ := v.Get("byteLength")
		return u8ctor.New(buf, off, n)
	}
	return safejs.Undefined(), usererr.Errorf("browser", "%s is not a byte array", v.Type())
}
