package blocks

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
)

// pattern returns n bytes that differ from their neighbours, so a byte
// out of place shows.
func pattern(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(uint64(n), 1))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestWriteMatchesContiguous(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		size   int
		writes []int
	}{
		{"empty", 8, nil},
		{"one short write", 8, []int{3}},
		{"exactly a block", 8, []int{8}},
		{"across blocks", 8, []int{5, 5, 5, 5}},
		{"one long write", 8, []int{61}},
		{"empty writes between", 8, []int{0, 9, 0, 7, 0}},
		{"default size", 0, []int{DefaultSize - 1, 2, DefaultSize}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			total := 0
			for _, w := range tc.writes {
				total += w
			}
			want := pattern(total)
			b := &Buffer{Size: tc.size}
			off := 0
			for _, w := range tc.writes {
				n, err := b.Write(want[off : off+w])
				if n != w || err != nil {
					t.Fatalf("Write(%d bytes) = %d, %v", w, n, err)
				}
				off += w
			}
			if got := b.Bytes(); !bytes.Equal(got, want) {
				t.Fatalf("Bytes: %d bytes differ from the %d written", len(got), len(want))
			}
			if b.Len() != int64(total) {
				t.Errorf("Len = %d, want %d", b.Len(), total)
			}
			size := b.size()
			var joined []byte
			for i, blk := range b.Blocks() {
				if len(blk) > size {
					t.Errorf("block %d is %d bytes, more than %d", i, len(blk), size)
				}
				if i < len(b.Blocks())-1 && len(blk) != size {
					t.Errorf("block %d of %d is %d bytes, want full (%d)", i, len(b.Blocks()), len(blk), size)
				}
				joined = append(joined, blk...)
			}
			if !bytes.Equal(joined, want) {
				t.Errorf("Blocks joined differ from the bytes written")
			}
			var out bytes.Buffer
			if n, err := b.WriteTo(&out); n != int64(total) || err != nil || !bytes.Equal(out.Bytes(), want) {
				t.Errorf("WriteTo = %d, %v (equal %v)", n, err, bytes.Equal(out.Bytes(), want))
			}
			got, err := io.ReadAll(b.Reader())
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("Reader: %v (equal %v)", err, bytes.Equal(got, want))
			}
		})
	}
}

func TestWriteKeepsFullBlocks(t *testing.T) {
	t.Parallel()
	b := &Buffer{Size: 4}
	b.Write([]byte("abcdef"))
	first := b.Blocks()[0]
	b.Write([]byte("ghijklmnop"))
	if string(first) != "abcd" || string(b.Blocks()[0]) != "abcd" {
		t.Errorf("first block %q after more writes, want %q", b.Blocks()[0], "abcd")
	}
	if &first[0] != &b.Blocks()[0][0] {
		t.Error("a full block moved")
	}
}

func TestReadAtEveryOffset(t *testing.T) {
	t.Parallel()
	want := pattern(29)
	b := &Buffer{Size: 5}
	b.Write(want)
	for off := 0; off <= len(want)+1; off++ {
		for n := 0; n <= len(want)+1-off; n++ {
			p := make([]byte, n)
			got, err := b.ReadAt(p, int64(off))
			wantN := max(0, min(n, len(want)-off))
			if got != wantN {
				t.Fatalf("ReadAt(%d bytes at %d) = %d, want %d", n, off, got, wantN)
			}
			if wantN < n && err != io.EOF {
				t.Fatalf("ReadAt(%d bytes at %d): err %v, want EOF", n, off, err)
			}
			if wantN == n && err != nil {
				t.Fatalf("ReadAt(%d bytes at %d): %v", n, off, err)
			}
			if got > 0 && !bytes.Equal(p[:got], want[off:off+got]) {
				t.Fatalf("ReadAt(%d bytes at %d) = %x, want %x", n, off, p[:got], want[off:off+got])
			}
		}
	}
	if _, err := b.ReadAt(make([]byte, 1), -1); err == nil {
		t.Error("ReadAt at -1: no error")
	}
}

func TestOf(t *testing.T) {
	t.Parallel()
	head, body := []byte("head"), pattern(10)
	b := Of(head, nil, body)
	if b.Len() != 14 || len(b.Blocks()) != 2 {
		t.Fatalf("Of: %d bytes in %d blocks, want 14 in 2", b.Len(), len(b.Blocks()))
	}
	if &b.Blocks()[1][0] != &body[0] {
		t.Error("Of copied a block")
	}
	b.Write([]byte("tail"))
	if !bytes.Equal(body, pattern(10)) {
		t.Error("a write after Of changed a block it was given")
	}
	if got, want := b.Bytes(), append(append([]byte("head"), pattern(10)...), "tail"...); !bytes.Equal(got, want) {
		t.Errorf("Bytes = %x, want %x", got, want)
	}
}

// Drain reads a buffer's bytes, handing each block read to its end to the
// buffer written meanwhile, which fills those blocks before new ones;
// short blocks are not reused, and the drained buffer ends empty.
func TestDrainRecycles(t *testing.T) {
	const size = 1 << 10
	want := make([]byte, 5*size+77)
	for i := range want {
		want[i] = byte(i * 13)
	}
	src := &Buffer{Size: size}
	src.Write(want)
	firsts := map[*byte]bool{}
	for _, blk := range src.Blocks() {
		if cap(blk) >= size {
			firsts[&blk[:1][0]] = true
		}
	}
	dst := &Buffer{Size: size}
	dst.Write([]byte("header")) // a head start: the writer runs ahead of the reader
	r := src.Drain(dst)
	buf := make([]byte, 300)
	var got []byte
	for {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		dst.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatal("Drain read other bytes than the buffer held")
	}
	if !bytes.Equal(dst.Bytes(), append([]byte("header"), want...)) {
		t.Fatal("the buffer written from recycled blocks holds other bytes")
	}
	reused := 0
	for _, blk := range dst.Blocks() {
		if firsts[&blk[:1][0]] {
			reused++
		}
	}
	if reused < 4 {
		t.Errorf("%d of the written buffer's %d blocks were recycled, want 4 at least", reused, len(dst.Blocks()))
	}
	if src.Len() != 0 || len(src.Blocks()) != 0 {
		t.Errorf("the drained buffer still holds %d bytes in %d blocks", src.Len(), len(src.Blocks()))
	}
	short := &Buffer{Size: size}
	short.Recycle(make([]byte, 10))
	short.Write(make([]byte, size))
	if cap(short.Blocks()[0]) != size {
		t.Errorf("a short recycled block was used: cap %d", cap(short.Blocks()[0]))
	}
}
