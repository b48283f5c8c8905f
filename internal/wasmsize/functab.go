package wasmsize

import (
	"encoding/binary"
	"fmt"
)

// The function table of Go's PC/line table (moduledata.pclntable) holds a
// record for every function: where its code starts, its name, its argument
// size, where its stack-pointer and other PC-value tables start, and where
// its stack maps are, as 32-bit words (runtime._func and the pcdata and
// funcdata offsets after it), after an index of (entry, record) pairs
// (runtime.functab). On the console that is about 1 MB, and brotli keeps
// about 165 KB of it: the words grow from one record to the next (names,
// tables and stack maps are laid out in function order), and spelled out
// whole, each is a new number to brotli.
//
// PackFuncTab stores the table as columns of differences instead: each
// word of a record less the same word of the record before it, the
// entries less the entry before. That is as many bytes (the raw module
// does not shrink), of which brotli keeps about 125 KB. The columns are
// stored where runtime.findfunctab goes, which GenerateFindFuncTab leaves
// to the start function; the start function first adds the differences
// back up into the function table's place, then clears the columns and
// writes findfunctab over them. The memory Go starts with is byte for byte
// what the linker wrote.
//
// The layout it knows (Go 1.20 to 1.26's runtime/symtab.go and
// cmd/link/internal/ld/pcln.go):
//
//	functab [nftab]struct{ entryoff, funcoff uint32 }   nftab = functions + 1;
//	                                                    the last has funcoff 0
//	_func   per function, at the next multiple of 8 after the one before:
//	        11 words (entryOff, nameOff, args, deferreturn, pcsp, pcfile,
//	        pcln, npcdata, cuOffset, startLine, funcID|flag<<8|nfuncdata<<24),
//	        then npcdata pcdata words and nfuncdata funcdata words
//
// A table laid out otherwise (padding that is not zero, records out of
// order, anything after the last record) is left as it is, with
// ErrIrregularFuncTab.

// ErrIrregularFuncTab is returned when the function table is not laid out
// as PackFuncTab knows it.
var ErrIrregularFuncTab = fmt.Errorf("wasmsize: runtime function table not laid out as Go 1.20 to 1.26 link it")

// funcWords is the number of 32-bit words of a runtime._func before its
// pcdata and funcdata offsets.
const funcWords = 11

// funcTab is a function table split into what the start function needs.
type funcTab struct {
	addr  uint32 // address of moduledata.pclntable
	size  int    // its length
	nftab uint32 // functab entries, one more than functions
	blob  []byte // the columns of differences, encodeFuncTab's format
}

// FuncTabStats tells what PackFuncTab did.
type FuncTabStats struct {
	Funcs int    // function records
	Bytes int    // bytes of the table taken out of the data section
	Blob  int    // bytes of columns stored in their place
	Addr  uint32 // where the table starts in linear memory
}

// encodeFuncTab returns the columns for the table tab (the bytes of
// moduledata.pclntable) with nftab index entries:
//
//	nftab words        entryoff[i] - entryoff[i-1]
//	funcWords columns  of nftab-1 words each: word k of record i less word
//	                   k of record i-1 (0 for the first record)
//	tail               for each record in order, each pcdata then each
//	                   funcdata word less the word at the same index of
//	                   record i-1, where record i-1 has one
//
// Record offsets are not stored: each record starts at the next multiple
// of 8 after the one before, the first after the index.
func encodeFuncTab(tab []byte, nftab uint32) ([]byte, error) {
	if nftab < 2 || uint64(nftab)*8 > uint64(len(tab)) {
		return nil, fmt.Errorf("%w: %d index entries for %d bytes", ErrIrregularFuncTab, nftab, len(tab))
	}
	u32 := func(off uint64) uint32 { return binary.LittleEndian.Uint32(tab[off:]) }
	nf := uint64(nftab) - 1
	if u32(8*nf+4) != 0 {
		return nil, fmt.Errorf("%w: the index's last entry names a record", ErrIrregularFuncTab)
	}
	entries := make([]byte, 0, 4*nftab)
	cols := make([][]byte, funcWords)
	for k := range cols {
		cols[k] = make([]byte, 0, 4*nf)
	}
	var tail []byte
	var prevEntry uint32
	for i := range uint64(nftab) {
		e := u32(8 * i)
		entries = binary.LittleEndian.AppendUint32(entries, e-prevEntry)
		prevEntry = e
	}
	next := 8 * uint64(nftab)  // where the next record may start
	var prev, prevExtra uint64 // previous record's offset and its first pcdata word
	var prevNpc, prevNfd uint64
	for i := range nf {
		f := uint64(u32(8*i + 4))
		aligned := (next + 7) &^ 7
		if f != aligned || f+4*funcWords > uint64(len(tab)) {
			return nil, fmt.Errorf("%w: record %d at %d, not %d", ErrIrregularFuncTab, i, f, aligned)
		}
		if !allZero(tab[next:f]) {
			return nil, fmt.Errorf("%w: padding before record %d is not zero", ErrIrregularFuncTab, i)
		}
		for k := range uint64(funcWords) {
			v := u32(f + 4*k)
			if i > 0 {
				v -= u32(prev + 4*k)
			}
			cols[k] = binary.LittleEndian.AppendUint32(cols[k], v)
		}
		npc := uint64(u32(f + 4*7))
		nfd := uint64(u32(f+4*10) >> 24)
		extra := f + 4*funcWords
		end := extra + 4*(npc+nfd)
		if npc > 1<<16 || end > uint64(len(tab)) {
			return nil, fmt.Errorf("%w: record %d has %d pcdata words past the table's end", ErrIrregularFuncTab, i, npc)
		}
		for j := range npc {
			v := u32(extra + 4*j)
			if j < prevNpc {
				v -= u32(prevExtra + 4*j)
			}
			tail = binary.LittleEndian.AppendUint32(tail, v)
		}
		for j := range nfd {
			v := u32(extra + 4*(npc+j))
			if j < prevNfd {
				v -= u32(prevExtra + 4*(prevNpc+j))
			}
			tail = binary.LittleEndian.AppendUint32(tail, v)
		}
		prev, prevExtra, prevNpc, prevNfd = f, extra, npc, nfd
		next = end
	}
	if !allZero(tab[next:]) {
		return nil, fmt.Errorf("%w: %d bytes after the last record", ErrIrregularFuncTab, len(tab)-int(next))
	}
	blob := entries
	for _, c := range cols {
		blob = append(blob, c...)
	}
	return append(blob, tail...), nil
}

// decodeFuncTab writes the table encodeFuncTab encoded into tab (zeros, as
// long as the table was): what the start function's code does, in Go.
func decodeFuncTab(tab, blob []byte, nftab uint32) error {
	nf := uint64(nftab) - 1
	get := func(off uint64) uint32 { return binary.LittleEndian.Uint32(blob[off:]) }
	u32 := func(off uint64) uint32 { return binary.LittleEndian.Uint32(tab[off:]) }
	put := func(off uint64, v uint32) { binary.LittleEndian.PutUint32(tab[off:], v) }
	if uint64(len(blob)) < 4*uint64(nftab)+4*funcWords*nf {
		return fmt.Errorf("%w: columns too short", ErrIrregularFuncTab)
	}
	var e uint32
	for i := range uint64(nftab) {
		e += get(4 * i)
		put(8*i, e)
	}
	cols := 4 * uint64(nftab)
	t := cols + 4*funcWords*nf
	f := 8 * uint64(nftab)
	var prev, prevNpc, prevNfd uint64
	for i := range nf {
		f = (f + 7) &^ 7
		if f+4*funcWords > uint64(len(tab)) {
			return fmt.Errorf("%w: record %d past the table's end", ErrIrregularFuncTab, i)
		}
		put(8*i+4, uint32(f))
		for k := range uint64(funcWords) {
			v := get(cols + 4*(k*nf+i))
			if i > 0 {
				v += u32(prev + 4*k)
			}
			put(f+4*k, v)
		}
		npc := uint64(u32(f + 4*7))
		nfd := uint64(u32(f+4*10) >> 24)
		if f+4*(funcWords+npc+nfd) > uint64(len(tab)) || t+4*(npc+nfd) > uint64(len(blob)) {
			return fmt.Errorf("%w: record %d past the table's end", ErrIrregularFuncTab, i)
		}
		for j := range npc {
			v := get(t)
			t += 4
			if j < prevNpc {
				v += u32(prev + 4*(funcWords+j))
			}
			put(f+4*(funcWords+j), v)
		}
		for j := range nfd {
			v := get(t)
			t += 4
			if j < prevNfd {
				v += u32(prev + 4*(funcWords+prevNpc+j))
			}
			put(f+4*(funcWords+npc+j), v)
		}
		prev, prevNpc, prevNfd = f, npc, nfd
		f += 4 * (funcWords + npc + nfd)
	}
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// readFuncTab finds the function table of the module's memory and encodes
// it, checking that the columns give the table back.
func readFuncTab(mem memory, md uint32) (funcTab, error) {
	w := func(i int) uint64 { return binary.LittleEndian.Uint64(mem.read(md+uint32(8*i), 8)) }
	pclntable, npcln := w(13), w(14)
	ftab, nftab := w(16), w(17)
	if ftab != pclntable || npcln > maxImage || pclntable+npcln > maxImage || nftab > npcln/8 {
		return funcTab{}, fmt.Errorf("%w: index at %#x, table at %#x", ErrIrregularFuncTab, ftab, pclntable)
	}
	tab := mem.read(uint32(pclntable), int(npcln))
	blob, err := encodeFuncTab(tab, uint32(nftab))
	if err != nil {
		return funcTab{}, err
	}
	check := make([]byte, len(tab))
	if err := decodeFuncTab(check, blob, uint32(nftab)); err != nil {
		return funcTab{}, err
	}
	for i := range tab {
		if tab[i] != check[i] {
			return funcTab{}, fmt.Errorf("%w: byte %d does not come back from its columns", ErrIrregularFuncTab, i)
		}
	}
	return funcTab{addr: uint32(pclntable), size: int(npcln), nftab: uint32(nftab), blob: blob}, nil
}

// wasm is a function body under construction, in WebAssembly's binary
// code: a few helpers so that funcTabCode reads as the loops it writes.
type wasm []byte

func (c *wasm) op(b ...byte) *wasm        { *c = append(*c, b...); return c }
func (c *wasm) get(l byte) *wasm          { return c.op(0x20, l) }
func (c *wasm) set(l byte) *wasm          { return c.op(0x21, l) }
func (c *wasm) tee(l byte) *wasm          { return c.op(0x22, l) }
func (c *wasm) i32(v int32) *wasm         { *c = appendS32(append(*c, 0x41), v); return c }
func (c *wasm) add() *wasm                { return c.op(0x6a) }
func (c *wasm) mul() *wasm                { return c.op(0x6c) }
func (c *wasm) and() *wasm                { return c.op(0x71) }
func (c *wasm) shl() *wasm                { return c.op(0x74) }
func (c *wasm) shrU() *wasm               { return c.op(0x76) }
func (c *wasm) ltU() *wasm                { return c.op(0x49) }
func (c *wasm) geU() *wasm                { return c.op(0x4f) }
func (c *wasm) load() *wasm               { return c.op(0x28, 0x02, 0x00) } // i32.load align=4
func (c *wasm) store() *wasm              { return c.op(0x36, 0x02, 0x00) } // i32.store align=4
func (c *wasm) sel() *wasm                { return c.op(0x1b) }             // select
func (c *wasm) block() *wasm              { return c.op(0x02, 0x40) }
func (c *wasm) loop() *wasm               { return c.op(0x03, 0x40) }
func (c *wasm) end() *wasm                { return c.op(0x0b) }
func (c *wasm) br(depth byte) *wasm       { return c.op(0x0c, depth) }
func (c *wasm) brIf(depth byte) *wasm     { return c.op(0x0d, depth) }
func (c *wasm) inc(l byte, n int32) *wasm { return c.get(l).i32(n).add().set(l) }

// Locals of funcTabCode.
const (
	lI  byte = iota // record (or index entry) number
	lE              // running entry offset
	lF              // this record's offset in the table
	lP              // previous record's offset
	lPN             // previous record's pcdata words
	lPD             // previous record's funcdata words
	lT              // address of the next tail word
	lK              // word number within the record
	lN              // this record's pcdata words
	lD              // this record's funcdata words
	nLocals
)

// funcTabCode is the start function's code that writes the table at
// table from the columns at blob: decodeFuncTab, in WebAssembly.
func funcTabCode(table, blob, nftab uint32) wasm {
	nf := int32(nftab - 1)
	T, B := int32(table), int32(blob)
	cols := B + 4*int32(nftab)
	var c wasm
	// for i := 0; i < nftab; i++ { e += blob[i]; table.entry[i] = e }
	c.loop().
		get(lI).i32(8).mul().i32(T).add(). // &table.entry[i]
		get(lE).get(lI).i32(4).mul().i32(B).add().load().add().tee(lE).
		store().
		inc(lI, 1).get(lI).i32(int32(nftab)).ltU().brIf(0).
		end()
	c.i32(0).set(lI).
		i32(8 * int32(nftab)).set(lF).
		i32(cols + 4*funcWords*nf).set(lT)
	c.loop() // over records
	// f = (f+7) &^ 7; table.funcoff[i] = f
	c.get(lF).i32(7).add().i32(-8).and().set(lF)
	c.get(lI).i32(8).mul().i32(T + 4).add().get(lF).store()
	// for k := 0; k < funcWords; k++ { rec[k] = col[k][i] + (i > 0 ? prev[k] : 0) }
	c.i32(0).set(lK).loop().
		get(lF).get(lK).i32(4).mul().add().i32(T).add(). // &rec[k]
		get(lK).i32(nf).mul().get(lI).add().i32(4).mul().i32(cols).add().load().
		get(lP).get(lK).i32(4).mul().add().i32(T).add().load(). // prev[k]
		i32(0).get(lI).sel().                                   // i > 0 ? prev[k] : 0
		add().store().
		inc(lK, 1).get(lK).i32(funcWords).ltU().brIf(0).
		end()
	c.get(lF).i32(T + 4*7).add().load().set(lN)
	c.get(lF).i32(T + 4*10).add().load().i32(24).shrU().set(lD)
	// The pcdata words, then the funcdata words: extra(rec, j) = tail +
	// (j < prevCount ? extra(prev, prevOffset+j) : 0).
	extras := func(count, prevCount byte, at, prevAt func()) {
		c.i32(0).set(lK).block().loop().
			get(lK).get(count).geU().brIf(1)
		at()
		c.get(lT).load()
		prevAt()
		c.load().i32(0).get(lK).get(prevCount).ltU().sel().add().store().
			inc(lT, 4).inc(lK, 1).br(0).
			end().end()
	}
	// &rec.extra[base+j] for the record at offset l.
	extraAddr := func(l byte, base func()) func() {
		return func() {
			c.get(l).i32(T + 4*funcWords).add()
			if base != nil {
				base()
				c.i32(4).mul().add()
			}
			c.get(lK).i32(4).mul().add()
		}
	}
	extras(lN, lPN, extraAddr(lF, nil), extraAddr(lP, nil))
	extras(lD, lPD, extraAddr(lF, func() { c.get(lN) }), extraAddr(lP, func() { c.get(lPN) }))
	// prev = this; f = end of this record
	c.get(lF).set(lP).get(lN).set(lPN).get(lD).set(lPD)
	c.get(lF).i32(4 * funcWords).add().get(lN).get(lD).add().i32(2).shl().add().set(lF)
	c.inc(lI, 1).get(lI).i32(nf).ltU().brIf(0).end()
	return c
}

// clearCode is code that sets n bytes at addr (both multiples of 4) to zero.
func clearCode(addr uint32, n int) wasm {
	var c wasm
	if n <= 0 {
		return c
	}
	c.i32(0).set(lI).loop().
		get(lI).i32(int32(addr)).add().i32(0).store().
		inc(lI, 4).get(lI).i32(int32(n)).ltU().brIf(0).
		end()
	return c
}
