//go:build js && wasm

package browser

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hack-pad/safejs"
)

func eval(t *testing.T, src string) safejs.Value {
	t.Helper()
	fn, err := safejs.Global().Get("Function")
	if err != nil {
		t.Fatal(err)
	}
	f, err := fn.New(src)
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.Invoke()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAwaitResolves(t *testing.T) {
	p := eval(t, `return new Promise(r => setTimeout(() => r(42), 10))`)
	v, err := Await(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := v.Int(); n != 42 {
		t.Errorf("got %d, want 42", n)
	}
}

func TestAwaitRejectsWithDOMExceptionName(t *testing.T) {
	p := eval(t, `const e = new Error("The device has been lost."); e.name = "NetworkError"; return Promise.reject(e)`)
	_, err := Await(context.Background(), p)
	if ErrorName(err) != "NetworkError" {
		t.Fatalf("err = %v, want a NetworkError", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Message != "The device has been lost." {
		t.Errorf("message = %v", err)
	}
}

func TestAwaitPlainValue(t *testing.T) {
	v, err := Await(context.Background(), eval(t, `return "now"`))
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := v.String(); s != "now" {
		t.Errorf("got %q", s)
	}
}

func TestAwaitGivesUpOnContext(t *testing.T) {
	// A promise that never settles, like requestPort in a headless browser.
	p := eval(t, `return new Promise(() => {})`)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := Await(ctx, p); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want deadline exceeded", err)
	}
	// A promise that settles after the caller gave up does not crash.
	p = eval(t, `return new Promise(r => setTimeout(() => r(1), 30))`)
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	Await(ctx, p)
	time.Sleep(60 * time.Millisecond)
}

func TestBytesRoundTrip(t *testing.T) {
	want := []byte{0, 1, 2, 0xfe, 0xff}
	v, err := BytesToJS(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := BytesFromJS(v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("got %x, want %x", got, want)
	}
	// A DataView over part of a buffer, as WebUSB's transferIn returns.
	dv := eval(t, `const b = new Uint8Array([9, 8, 7, 6, 5]).buffer; return new DataView(b, 1, 3)`)
	got, err = BytesFromJS(dv)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, []byte{8, 7, 6}) {
		t.Errorf("DataView: got %x, want 080706", got)
	}
	if _, err := BytesFromJS(eval(t, `return 5`)); err == nil {
		t.Error("a number was taken for bytes")
	}
}
