//go:build js && wasm

package browser

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/hack-pad/safejs"
)

func TestYield(t *testing.T) {
	// A timer set before Yield fires while Yield is called only if Yield
	// really lets the event loop run (a message turn may come before a
	// timer's: yield until it has fired, a bounded number of times).
	eval(t, `globalThis.__tfFlag = false; setTimeout(() => { globalThis.__tfFlag = true }, 0); return null`)
	fired := false
	for i := 0; i < 10000 && !fired; i++ {
		if err := Yield(context.Background()); err != nil {
			t.Fatal(err)
		}
		v, _ := safejs.Global().Get("__tfFlag")
		fired, _ = v.Bool()
	}
	if !fired {
		t.Error("the event loop did not run timers during Yield")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Yield(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Yield with a cancelled context: %v", err)
	}
}

func TestWaitEvent(t *testing.T) {
	target := eval(t, `const t = new EventTarget(); setTimeout(() => t.dispatchEvent(new Event("done")), 5); return t`)
	if _, err := WaitEvent(context.Background(), target, "done", "error"); err != nil {
		t.Fatal(err)
	}
	target = eval(t, `const t = new EventTarget(); setTimeout(() => t.dispatchEvent(new Event("abort")), 5); return t`)
	_, err := WaitEvent(context.Background(), target, "done", "error", "abort")
	if ErrorName(err) != "abort" {
		t.Errorf("err = %v, want an abort error", err)
	}
	target = eval(t, `return new EventTarget()`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := WaitEvent(ctx, target, "done"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want deadline exceeded", err)
	}
	// The event firing after the caller gave up does not crash.
	Call(target, "dispatchEvent", eval(t, `return new Event("done")`))
}

// blobFile returns a File of two reads' chunks and some, and its bytes.
func blobFile(t *testing.T) (File, []byte) {
	t.Helper()
	want := make([]byte, readChunk*2+12345)
	for i := range want {
		want[i] = byte(i * 7)
	}
	blob, err := NewBlob(want, "application/octet-stream")
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	return f, want
}

// checkProgress checks a read's progress calls: one a piece at least
// (three pieces of readChunk or more), rising, the last at total.
func checkProgress(t *testing.T, calls []int64, total int64) {
	t.Helper()
	ok := len(calls) >= 3 && calls[len(calls)-1] == total
	for i := 1; i < len(calls); i++ {
		ok = ok && calls[i] > calls[i-1]
	}
	if !ok {
		t.Errorf("progress calls %v, want three or more, rising to %d", calls, total)
	}
}

func TestFileReadAll(t *testing.T) {
	f, want := blobFile(t)
	if f.Size != int64(len(want)) {
		t.Fatalf("size %d, want %d", f.Size, len(want))
	}
	var calls []int64
	got, err := f.ReadAll(context.Background(), 0, func(done, total int64) { calls = append(calls, done) })
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("read bytes differ from the blob's")
	}
	checkProgress(t, calls, int64(len(want)))
	if _, err := f.ReadAll(context.Background(), 100, nil); err == nil {
		t.Error("a file over the size bound was read")
	}
	if _, err := NewFile(eval(t, `return {}`)); err == nil {
		t.Error("a plain object was taken for a file")
	}
}

func TestFileReadBlocks(t *testing.T) {
	f, want := blobFile(t)
	// Blocks that divide a read's chunk, that do not, and one larger.
	for _, block := range []int{1 << 20, 3<<20 + 5, 5 << 20} {
		var calls []int64
		got, err := f.ReadBlocks(context.Background(), 0, block, func(done, total int64) { calls = append(calls, done) })
		if err != nil {
			t.Fatal(err)
		}
		if joined := bytes.Join(got, nil); !bytes.Equal(joined, want) {
			t.Errorf("%d-byte blocks: read %d bytes that differ from the blob's %d", block, len(joined), len(want))
		}
		for i, b := range got {
			if len(b) > block || (i < len(got)-1 && len(b) != block) {
				t.Errorf("%d-byte blocks: block %d of %d holds %d bytes", block, i, len(got), len(b))
			}
		}
		checkProgress(t, calls, int64(len(want)))
	}
	if _, err := f.ReadBlocks(context.Background(), 100, 1<<20, nil); err == nil {
		t.Error("a file over the size bound was read")
	}
}

// A file is read from its stream where it has one (a "bring your own
// buffer" reader), else in slices; either way a file that ends before or
// after its size (it changed on disk) is refused.
func TestFileReadPaths(t *testing.T) {
	f, want := blobFile(t)
	if _, ok := f.byobReader(); !ok {
		t.Fatal("a Blob here has no BYOB stream reader: the stream path is not tested")
	}
	glob, err := safejs.Global().Get("globalThis")
	if err != nil {
		t.Fatal(err)
	}
	if err := glob.Set("__tfBlob", f.v); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, src string
		ok        bool
	}{
		{"stream", `return __tfBlob`, true},
		{"slices", `const b = __tfBlob; return {size: b.size, name: "app.bin", slice: (x, y) => b.slice(x, y)}`, true},
		{"stream, shorter", `const b = __tfBlob; return {size: b.size + 10, name: "app.bin", stream: () => b.stream(), slice: (x, y) => b.slice(x, y)}`, false},
		{"stream, longer", `const b = __tfBlob; return {size: b.size - 10, name: "app.bin", stream: () => b.stream(), slice: (x, y) => b.slice(x, y)}`, false},
		{"slices, shorter", `const b = __tfBlob; return {size: b.size + 10, name: "app.bin", slice: (x, y) => b.slice(x, y)}`, false},
	} {
		file, err := NewFile(eval(t, c.src))
		if err != nil {
			t.Fatal(err)
		}
		got, err := file.ReadAll(context.Background(), 0, nil)
		switch {
		case c.ok && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.ok && !bytes.Equal(got, want):
			t.Errorf("%s: read %d bytes that differ from the blob's %d", c.name, len(got), len(want))
		case !c.ok && (err == nil || !bytes.Contains([]byte(err.Error()), []byte("changed while it was read"))):
			t.Errorf("%s: err = %v, want the file to have changed", c.name, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.ReadAll(ctx, 0, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled read: %v", err)
	}
}

func TestFilesOf(t *testing.T) {
	list := eval(t, `return [new File(["abc"], "app.bin", {type: "application/octet-stream"}), new File(["x"], "key.pem")]`)
	files, err := FilesOf(list)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0].Name != "app.bin" || files[0].Size != 3 || files[1].Name != "key.pem" {
		t.Errorf("files = %+v", files)
	}
}

func TestFetchStreamsTheBody(t *testing.T) {
	want := make([]byte, 300<<10)
	for i := range want {
		want[i] = byte(i * 13)
	}
	u8, _ := BytesToJS(want)
	blob, _ := newBlobOf(u8, "application/octet-stream")
	urlCtor, _ := safejs.Global().Get("URL")
	href, err := Call(urlCtor, "createObjectURL", blob)
	if err != nil {
		t.Skipf("no object URLs here: %v", err)
	}
	s, _ := href.String()
	resp, err := Fetch(context.Background(), "GET", s, nil, nil)
	if err != nil {
		t.Skipf("this runtime cannot fetch blob URLs: %v", err)
	}
	if resp.Status != 200 {
		t.Fatalf("status %d", resp.Status)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("body of %d bytes differs from the %d sent", len(got), len(want))
	}
	if resp.Header["content-type"] != "application/octet-stream" {
		t.Errorf("headers %v", resp.Header)
	}
}
