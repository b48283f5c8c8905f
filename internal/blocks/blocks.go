// Package blocks holds long byte strings as lists of blocks of at most a
// fixed size instead of one contiguous slice.
//
// The console runs on the page's only thread. When the Go runtime hands
// out memory it has used before, it zeroes it in one piece: a 64 MiB
// slice taken again for the next publish froze the page for 60 ms. A
// Buffer allocates a block at a time as it fills, so each allocation (and
// its zeroing) is short, and the work between them gives the page its
// turns. Blocks also go to JavaScript one at a time (a Blob made of
// parts), where one long array would be one long allocation there too.
package blocks

import (
	"errors"
	"io"
)

// DefaultSize is the block size of a Buffer whose Size is zero.
const DefaultSize = 1 << 20

// Buffer is a byte string built by appending, held in blocks. Bytes
// written are never moved: a block, once full, is not touched again. The
// zero value is an empty buffer of DefaultSize blocks.
type Buffer struct {
	// Size is the length of each block; zero means DefaultSize. It must
	// not change once the buffer holds bytes.
	Size int

	blocks [][]byte // each full but the last
	n      int64
	spare  [][]byte // blocks given to Recycle, filled before new ones
}

// Of returns a buffer holding the given blocks as they are, without a
// copy; further writes start a new block.
func Of(blocks ...[]byte) *Buffer {
	b := &Buffer{}
	for _, p := range blocks {
		if len(p) == 0 {
			continue
		}
		b.blocks = append(b.blocks, p[:len(p):len(p)])
		b.n += int64(len(p))
	}
	return b
}

func (b *Buffer) size() int {
	if b.Size <= 0 {
		return DefaultSize
	}
	return b.Size
}

// Len returns how many bytes the buffer holds.
func (b *Buffer) Len() int64 { return b.n }

// Write appends p, allocating a block at a time. It never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(b.blocks) == 0 || len(b.blocks[len(b.blocks)-1]) == cap(b.blocks[len(b.blocks)-1]) {
			b.blocks = append(b.blocks, b.newBlock())
		}
		last := &b.blocks[len(b.blocks)-1]
		k := copy((*last)[len(*last):cap(*last)], p)
		*last = (*last)[:len(*last)+k]
		p = p[k:]
		b.n += int64(k)
	}
	return n, nil
}

// newBlock returns an empty block: a spare one, or a new one.
func (b *Buffer) newBlock() []byte {
	for len(b.spare) > 0 {
		blk := b.spare[len(b.spare)-1]
		b.spare = b.spare[:len(b.spare)-1]
		if cap(blk) >= b.size() {
			return blk[:0:b.size()]
		}
	}
	return make([]byte, 0, b.size())
}

// Recycle gives the buffer blocks to write into before it allocates new
// ones; their bytes are overwritten. Blocks shorter than the buffer's
// block size are left alone.
func (b *Buffer) Recycle(blocks ...[]byte) { b.spare = append(b.spare, blocks...) }

// Drain returns a reader of the buffer's bytes that gives each block, once
// read to its end, to to.Recycle, and drops it from this buffer: the
// buffer is empty once the reader is done, and must not be used
// otherwise meanwhile. Signing a 64 MiB image from a file's blocks into
// blocks of its own then takes two blocks of new memory, not 64 (new
// memory is slow to write in a browser: see the package doc).
func (b *Buffer) Drain(to *Buffer) io.Reader { return &drain{b: b, to: to} }

type drain struct {
	b   *Buffer
	to  *Buffer
	off int // in the first block
}

func (d *drain) Read(p []byte) (int, error) {
	for len(d.b.blocks) > 0 && d.off == len(d.b.blocks[0]) {
		d.to.Recycle(d.b.blocks[0])
		d.b.blocks[0] = nil
		d.b.blocks = d.b.blocks[1:]
		d.off = 0
	}
	if len(d.b.blocks) == 0 {
		d.b.n = 0
		return 0, io.EOF
	}
	n := copy(p, d.b.blocks[0][d.off:])
	d.off += n
	return n, nil
}

// Blocks returns the buffer's bytes in order, as the blocks that hold
// them (not copies): every one but the last is full.
func (b *Buffer) Blocks() [][]byte { return b.blocks }

// ReadAt reads len(p) bytes from offset off, as io.ReaderAt says.
func (b *Buffer) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errNegative
	}
	n := 0
	for _, blk := range b.blocks {
		if len(p) == 0 {
			break
		}
		if off >= int64(len(blk)) {
			off -= int64(len(blk))
			continue
		}
		k := copy(p, blk[off:])
		n += k
		p = p[k:]
		off = 0
	}
	if len(p) > 0 {
		return n, io.EOF
	}
	return n, nil
}

// Reader returns a reader of the buffer's bytes as they are now.
func (b *Buffer) Reader() *io.SectionReader { return io.NewSectionReader(b, 0, b.n) }

// WriteTo writes the buffer's blocks to w in order.
func (b *Buffer) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for _, blk := range b.blocks {
		k, err := w.Write(blk)
		n += int64(k)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Bytes returns the buffer's bytes as one new slice: for tests and for
// the short buffers that need no blocks.
func (b *Buffer) Bytes() []byte {
	out := make([]byte, 0, b.n)
	for _, blk := range b.blocks {
		out = append(out, blk...)
	}
	return out
}

var errNegative = errors.New("blocks: negative offset")
