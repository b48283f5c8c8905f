//go:build js && wasm

package browser

import (
	"context"
	"time"

	"trustforge/internal/usererr"

	"github.com/hack-pad/safejs"
)

// File is a file the user picked or dropped: a JavaScript File (or Blob).
type File struct {
	Name string // the file's name, without a directory
	Size int64  // its size in bytes
	Type string // its media type, often empty
	v    safejs.Value
}

// NewFile wraps a JavaScript File or Blob.
func NewFile(v safejs.Value) (File, error) {
	f := File{v: v}
	size, err := v.Get("size")
	if err != nil || size.Type() != safejs.TypeNumber {
		return File{}, usererr.New("browser", "not a File or Blob")
	}
	n, _ := size.Float()
	f.Size = int64(n)
	if s, err := v.Get("name"); err == nil && s.Type() == safejs.TypeString {
		f.Name, _ = s.String()
	}
	if s, err := v.Get("type"); err == nil && s.Type() == safejs.TypeString {
		f.Type, _ = s.String()
	}
	return f, nil
}

// FilesOf returns the files of a FileList (an input's files, a drop's
// dataTransfer.files).
func FilesOf(list safejs.Value) ([]File, error) {
	n, err := list.Length()
	if err != nil {
		return nil, wrapErr(err)
	}
	out := make([]File, 0, n)
	for i := 0; i < n; i++ {
		v, err := list.Index(i)
		if err != nil {
			return nil, wrapErr(err)
		}
		f, err := NewFile(v)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// InputFiles returns the files chosen in the <input type="file"> whose id
// is id.
func InputFiles(id string) ([]File, error) {
	el, err := ElementByID(id)
	if err != nil {
		return nil, err
	}
	list, err := el.Get("files")
	if err != nil || list.IsNull() || list.IsUndefined() {
		return nil, usererr.Errorf("browser", "#%s is not a file input", id)
	}
	return FilesOf(list)
}

// ClearInput empties the file input whose id is id, so choosing the same
// file again fires a change event.
func ClearInput(id string) error {
	el, err := ElementByID(id)
	if err != nil {
		return err
	}
	return wrapErr(el.Set("value", ""))
}

// ElementByID returns the document's element whose id is id.
func ElementByID(id string) (safejs.Value, error) {
	doc, err := safejs.Global().Get("document")
	if err != nil {
		return safejs.Undefined(), err
	}
	el, err := Call(doc, "getElementById", id)
	if err != nil {
		return safejs.Undefined(), err
	}
	if el.IsNull() || el.IsUndefined() {
		return safejs.Undefined(), usererr.Errorf("browser", "no element #%s", id)
	}
	return el, nil
}

// readChunk is how much of a file ReadAll and ReadBlocks copy at a time.
const readChunk = 4 << 20

// ReadAll reads the whole file into memory, chunk by chunk, calling
// progress (when not nil) after each with the bytes read so far. max
// bounds the file's size (0: no bound).
func (f File) ReadAll(ctx context.Context, max int64, progress func(done, total int64)) ([]byte, error) {
	if max > 0 && f.Size > max {
		return nil, usererr.Errorf("browser", "%s is %d bytes, more than the %d allowed", f.Name, f.Size, max)
	}
	out := make([]byte, f.Size)
	// Copy straight into place: no garbage the size of the file.
	err := f.read(ctx, progress, func(off int64, u8 safejs.Value) (int, error) {
		return safejs.CopyBytesToGo(out[off:], u8)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReadBlocks reads the whole file as ReadAll does, into blocks of at most
// block bytes (with a full block before each other): one contiguous slice
// the size of a long file is zeroed by Go's runtime in one piece, which
// stalls the page (see trustforge/internal/blocks).
func (f File) ReadBlocks(ctx context.Context, max int64, block int, progress func(done, total int64)) ([][]byte, error) {
	if max > 0 && f.Size > max {
		return nil, usererr.Errorf("browser", "%s is %d bytes, more than the %d allowed", f.Name, f.Size, max)
	}
	var out [][]byte
	err := f.read(ctx, progress, func(off int64, u8 safejs.Value) (int, error) {
		n, err := u8.Length()
		if err != nil {
			return 0, wrapErr(err)
		}
		done := 0
		for done < n {
			if len(out) == 0 || len(out[len(out)-1]) == cap(out[len(out)-1]) {
				out = append(out, make([]byte, 0, min(int64(block), f.Size-off-int64(done))))
			}
			last := out[len(out)-1]
			k := min(cap(last)-len(last), n-done)
			part, err := Call(u8, "subarray", done, done+k)
			if err != nil {
				return done, err
			}
			got, err := safejs.CopyBytesToGo(last[len(last):len(last)+k], part)
			out[len(out)-1] = last[:len(last)+got]
			done += got
			if err != nil || got != k {
				return done, err
			}
		}
		return done, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// read reads the file readChunk at a time, handing each piece, a
// Uint8Array, to put with its offset; put returns how many bytes it took.
func (f File) read(ctx context.Context, progress func(done, total int64), put func(off int64, u8 safejs.Value) (int, error)) error {
	if r, ok := f.byobReader(); ok {
		return f.readStream(ctx, r, progress, put)
	}
	for off := int64(0); off < f.Size; off += readChunk {
		end := min(off+readChunk, f.Size)
		part, err := Call(f.v, "slice", off, end)
		if err != nil {
			return err
		}
		p, err := Call(part, "arrayBuffer")
		if err != nil {
			return err
		}
		buf, err := Await(ctx, p)
		if err != nil {
			return usererr.Errorf("browser", "reading %s: %w", f.Name, err)
		}
		u8, err := asUint8Array(buf)
		if err != nil {
			return err
		}
		if n, err := u8.Length(); err != nil || int64(n) != end-off {
			return usererr.Errorf("browser", "%s changed while it was read", f.Name)
		}
		n, err := put(off, u8)
		if err != nil {
			return wrapErr(err)
		}
		if int64(n) != end-off {
			return usererr.Errorf("browser", "%s changed while it was read", f.Name)
		}
		if progress != nil {
			progress(end, f.Size)
		}
	}
	return nil
}

// streamChunk is the buffer a file's stream is read into, and streamTurn
// how long reading it goes on before the page is given a turn (as long as
// the turns of wasm/release's long loops, which says why).
const (
	streamChunk = 1 << 20
	streamTurn  = 10 * time.Millisecond
)

// byobReader returns a reader of the file's stream that reads into the
// caller's buffer ("bring your own buffer"), where the browser has one.
func (f File) byobReader() (safejs.Value, bool) {
	if f.Size == 0 {
		return safejs.Undefined(), false
	}
	st, err := Call(f.v, "stream")
	if err != nil || st.Type() != safejs.TypeObject {
		return safejs.Undefined(), false
	}
	r, err := Call(st, "getReader", map[string]any{"mode": "byob"})
	if err != nil || r.Type() != safejs.TypeObject {
		return safejs.Undefined(), false
	}
	return r, true
}

// readStream is read from the file's stream with r, a BYOB reader: the
// browser fills one buffer of streamChunk bytes again and again, handed
// to put each time it is full (a smaller copy into Go than readChunk's,
// so shorter turns of the page's thread). Slices asked for one after
// another, each read into a new buffer, made BenchmarkPublish's read of
// 64 MiB 522 ms against 363 now: each new buffer is memory the system
// maps in, and each slice a request of its own to the browser.
func (f File) readStream(ctx context.Context, r safejs.Value, progress func(done, total int64), put func(off int64, u8 safejs.Value) (int, error)) (err error) {
	defer func() {
		if err != nil {
			Call(r, "cancel")
		}
	}()
	u8ctor, err := safejs.Global().Get("Uint8Array")
	if err != nil {
		return err
	}
	abCtor, err := safejs.Global().Get("ArrayBuffer")
	if err != nil {
		return err
	}
	size := int(min(streamChunk, f.Size))
	buf, err := abCtor.New(size)
	if err != nil {
		return wrapErr(err)
	}
	// next reads into buf from at, at most n bytes; it reports the bytes
	// read (buf is then the buffer they are in) or the stream's end.
	next := func(at, n int) (int, bool, error) {
		view, err := u8ctor.New(buf, at, n)
		if err != nil {
			return 0, false, wrapErr(err)
		}
		p, err := Call(r, "read", view)
		if err != nil {
			return 0, false, err
		}
		res, err := Await(ctx, p)
		if err != nil {
			if ctx.Err() != nil {
				return 0, false, ctx.Err()
			}
			return 0, false, usererr.Errorf("browser", "reading %s: %w", f.Name, err)
		}
		if d, err := res.Get("done"); err != nil {
			return 0, false, wrapErr(err)
		} else if done, _ := d.Truthy(); done {
			return 0, true, nil
		}
		v, err := res.Get("value")
		if err != nil {
			return 0, false, wrapErr(err)
		}
		if buf, err = v.Get("buffer"); err != nil {
			return 0, false, wrapErr(err)
		}
		bl, err := v.Get("byteLength")
		if err != nil {
			return 0, false, wrapErr(err)
		}
		k, err := bl.Int()
		return k, false, wrapErr(err)
	}
	changed := usererr.Errorf("browser", "%s changed while it was read", f.Name)
	lastTurn := time.Now()
	for off := int64(0); off < f.Size; {
		// The reads of a file the browser has ready resolve one after
		// another as microtasks, in one turn of the page's thread: 64 MiB
		// held it for over 200 ms. Give the page a turn now and then.
		if time.Since(lastTurn) >= streamTurn {
			if err := Yield(ctx); err != nil {
				return err
			}
			lastTurn = time.Now()
		}
		want := int(min(int64(size), f.Size-off))
		filled := 0
		for filled < want {
			k, end, err := next(filled, want-filled)
			if err != nil {
				return err
			}
			if end {
				return changed
			}
			filled += k
		}
		u8, err := u8ctor.New(buf, 0, filled)
		if err != nil {
			return wrapErr(err)
		}
		n, err := put(off, u8)
		if err != nil {
			return wrapErr(err)
		}
		if n != filled {
			return changed
		}
		off += int64(filled)
		if progress != nil {
			progress(off, f.Size)
		}
	}
	// The stream ends where the file did when it was chosen.
	if _, end, err := next(0, 1); err != nil {
		return err
	} else if !end {
		return changed
	}
	return nil
}
