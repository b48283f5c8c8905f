package wasmsize

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The function table of Go's PC/line table (moduledata.pclntable) holds a
// record for every function: where its code starts, its name, its argument
// size, where its stack-pointer and other PC-value tables start, and where
// its stack maps are, as 32-bit words (runtime._func and the pcdata and
// funcdata offsets after it), after an index of (entry, record) pairs
// (runtime.functab). On the console that is about 1 MB, of which brotli
// keeps about 165 KB: record after record, brotli sees a dozen kinds of
// number interleaved, each of which alone is close to a sequence.
//
// GenerateTables stores the table as columns instead: each word of the records
// in a column of its own, and each pcdata and funcdata index too, holding
// the records that have one. The entry and name offsets, which grow by a
// little from record to record, are stored as differences from the record
// before; every other column as it is (its values repeat, as tables and
// stack maps are shared, and a difference would hide that). That is fewer
// bytes (the zero columns, the file and line offsets StripLines cleared,
// are left out of the data section), of which brotli keeps about 85 KB.
// The columns are stored where runtime.findfunctab goes, which
// GenerateFindFuncTab leaves to the start function; the start function
// first puts the table back together in its place, then clears the
// columns and writes findfunctab over them. The memory Go starts with is
// byte for byte what the linker wrote.
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
// as GenerateTables knows it.
var ErrIrregularFuncTab = errors.New("wasmsize: runtime function table not laid out as Go 1.20 to 1.26 link it")

// funcWords is the number of 32-bit words of a runtime._func before its
// pcdata and funcdata offsets; deltaWords has a bit set for each of them
// stored as a difference from the record before (entryOff and nameOff).
const (
	funcWords  = 11
	deltaWords = 1<<0 | 1<<1
)

// funcTab is a function table split into what the start function needs.
type funcTab struct {
	addr  uint32 // address of moduledata.pclntable
	size  int    // its length
	nftab uint32 // functab entries, one more than functions
	blob  []byte // the columns, encodeFuncTab's format
	npc   int    // pcdata columns
}

// FuncTabStats tells what GenerateTables did with the function table.
type FuncTabStats struct {
	Funcs int    // function records
	Bytes int    // bytes of the table taken out of the data section
	Blob  int    // bytes of columns stored in their place
	Addr  uint32 // where the table starts in linear memory
}

// encodeFuncTab returns the columns for the table tab (the bytes of
// moduledata.pclntable) with nftab index entries, to be stored at address
// at, and how many pcdata columns they have:
//
//	nftab words        entryoff[i] - entryoff[i-1]
//	funcWords columns  of nftab-1 words each: word k of record i, less word
//	                   k of record i-1 for the deltaWords (and i > 0)
//	npc + nfd words    the address of each pcdata column, then of each
//	                   funcdata column: the start function's cursors
//	columns            pcdata word j of every record that has one, for j
//	                   from 0, then funcdata word j likewise
//
// Record offsets are not stored: each record starts at the next multiple
// of 8 after the one before, the first after the index.
func encodeFuncTab(tab []byte, nftab, at uint32) ([]byte, int, error) {
	if nftab < 2 || uint64(nftab)*8 > uint64(len(tab)) {
		return nil, 0, fmt.Errorf("%w: %d index entries for %d bytes", ErrIrregularFuncTab, nftab, len(tab))
	}
	u32 := func(off uint64) uint32 { return binary.LittleEndian.Uint32(tab[off:]) }
	nf := uint64(nftab) - 1
	if u32(8*nf+4) != 0 {
		return nil, 0, fmt.Errorf("%w: the index's last entry names a record", ErrIrregularFuncTab)
	}
	blob := make([]byte, 0, len(tab))
	var prevEntry uint32
	for i := range uint64(nftab) {
		e := u32(8 * i)
		blob = binary.LittleEndian.AppendUint32(blob, e-prevEntry)
		prevEntry = e
	}
	cols := make([][]byte, funcWords)
	var pcCols, fdCols [][]byte
	next := 8 * uint64(nftab) // where the next record may start
	var prev uint64
	for i := range nf {
		f := uint64(u32(8*i + 4))
		aligned := (next + 7) &^ 7
		if f != aligned || f+4*funcWords > uint64(len(tab)) {
			return nil, 0, fmt.Errorf("%w: record %d at %d, not %d", ErrIrregularFuncTab, i, f, aligned)
		}
		if !allZero(tab[next:f]) {
			return nil, 0, fmt.Errorf("%w: padding before record %d is not zero", ErrIrregularFuncTab, i)
		}
		for k := range uint64(funcWords) {
			v := u32(f + 4*k)
			if i > 0 && deltaWords&(1<<k) != 0 {
				v -= u32(prev + 4*k)
			}
			cols[k] = binary.LittleEndian.AppendUint32(cols[k], v)
		}
		npc := uint64(u32(f + 4*7))
		nfd := uint64(u32(f+4*10) >> 24)
		extra := f + 4*funcWords
		end := extra + 4*(npc+nfd)
		if npc > maxPCData || end > uint64(len(tab)) {
			return nil, 0, fmt.Errorf("%w: record %d has %d pcdata words", ErrIrregularFuncTab, i, npc)
		}
		for j := range npc {
			if j == uint64(len(pcCols)) {
				pcCols = append(pcCols, nil)
			}
			pcCols[j] = binary.LittleEndian.AppendUint32(pcCols[j], u32(extra+4*j))
		}
		for j := range nfd {
			if j == uint64(len(fdCols)) {
				fdCols = append(fdCols, nil)
			}
			fdCols[j] = binary.LittleEndian.AppendUint32(fdCols[j], u32(extra+4*(npc+j)))
		}
		prev = f
		next = end
	}
	if !allZero(tab[next:]) {
		return nil, 0, fmt.Errorf("%w: %d bytes after the last record", ErrIrregularFuncTab, len(tab)-int(next))
	}
	for _, c := range cols {
		blob = append(blob, c...)
	}
	extras := append(pcCols, fdCols...)
	addr := uint64(at) + uint64(len(blob)) + 4*uint64(len(extras))
	for _, c := range extras {
		blob = binary.LittleEndian.AppendUint32(blob, uint32(addr))
		addr += uint64(len(c))
	}
	if addr > maxImage {
		return nil, 0, fmt.Errorf("%w: columns at %#x run past %#x", ErrIrregularFuncTab, at, maxImage)
	}
	for _, c := range extras {
		blob = append(blob, c...)
	}
	return blob, len(pcCols), nil
}

// decodeFuncTab writes the table that encodeFuncTab encoded, into tab
// (zeros, as long as the table was), from the columns in mem at address
// at: what the start function's code does, in Go. Like that code, it
// moves the cursors in mem.
func decodeFuncTab(tab, mem []byte, at, nftab uint32, npc int) error {
	nf := uint64(nftab) - 1
	get := func(addr uint64) (uint32, error) {
		if addr+4 > uint64(len(mem)) {
			return 0, fmt.Errorf("%w: columns end at %#x", ErrIrregularFuncTab, len(mem))
		}
		return binary.LittleEndian.Uint32(mem[addr:]), nil
	}
	u32 := func(off uint64) uint32 { return binary.LittleEndian.Uint32(tab[off:]) }
	put := func(off uint64, v uint32) { binary.LittleEndian.PutUint32(tab[off:], v) }
	base := uint64(at)
	var e uint32
	for i := range uint64(nftab) {
		d, err := get(base + 4*i)
		if err != nil {
			return err
		}
		e += d
		put(8*i, e)
	}
	cols := base + 4*uint64(nftab)
	cursors := cols + 4*funcWords*nf
	f := 8 * uint64(nftab)
	var prev uint64
	for i := range nf {
		f = (f + 7) &^ 7
		if f+4*funcWords > uint64(len(tab)) {
			return fmt.Errorf("%w: record %d past the table's end", ErrIrregularFuncTab, i)
		}
		put(8*i+4, uint32(f))
		for k := range uint64(funcWords) {
			v, err := get(cols + 4*(k*nf+i))
			if err != nil {
				return err
			}
			if i > 0 && deltaWords&(1<<k) != 0 {
				v += u32(prev + 4*k)
			}
			put(f+4*k, v)
		}
		n := uint64(u32(f + 4*7))
		d := uint64(u32(f+4*10) >> 24)
		if n > uint64(npc) || f+4*(funcWords+n+d) > uint64(len(tab)) {
			return fmt.Errorf("%w: record %d past the table's end", ErrIrregularFuncTab, i)
		}
		for j := range n + d {
			cur := cursors + 4*j
			if j >= n {
				cur = cursors + 4*(uint64(npc)+j-n)
			}
			addr, err := get(cur)
			if err != nil {
				return err
			}
			v, err := get(uint64(addr))
			if err != nil {
				return err
			}
			binary.LittleEndian.PutUint32(mem[cur:], addr+4)
			put(f+4*(funcWords+j), v)
		}
		prev = f
		f += 4 * (funcWords + n + d)
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
// it for address at, checking that the columns give the table back.
func readFuncTab(mem memory, md, at uint32) (funcTab, error) {
	w := func(i int) uint64 { return binary.LittleEndian.Uint64(mem.read(md+uint32(8*i), 8)) }
	pclntable, npcln := w(13), w(14)
	ftab, nftab := w(16), w(17)
	if ftab != pclntable || npcln > maxImage || pclntable+npcln > maxImage || nftab > npcln/8 {
		return funcTab{}, fmt.Errorf("%w: index at %#x, table at %#x", ErrIrregularFuncTab, ftab, pclntable)
	}
	tab := mem.read(uint32(pclntable), int(npcln))
	blob, npc, err := encodeFuncTab(tab, uint32(nftab), at)
	if err != nil {
		return funcTab{}, err
	}
	if err := checkFuncTab(tab, blob, at, uint32(nftab), npc); err != nil {
		return funcTab{}, err
	}
	return funcTab{addr: uint32(pclntable), size: int(npcln), nftab: uint32(nftab), blob: blob, npc: npc}, nil
}

// checkFuncTab decodes blob, as stored at address at, and compares the
// result with tab.
func checkFuncTab(tab, blob []byte, at, nftab uint32, npc int) error {
	mem := make([]byte, int(at)+len(blob))
	copy(mem[at:], blob)
	back := make([]byte, len(tab))
	if err := decodeFuncTab(back, mem, at, nftab, npc); err != nil {
		return err
	}
	for i := range tab {
		if tab[i] != back[i] {
			return fmt.Errorf("%w: byte %d does not come back from its columns", ErrIrregularFuncTab, i)
		}
	}
	return nil
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
	lI byte = iota // record (or index entry) number
	lE             // running entry offset
	lF             // this record's offset in the table
	lP             // previous record's offset
	lK             // word number within the record
	lN             // this record's pcdata words
	lD             // this record's funcdata words
	lC             // address of the cursor of the column of the word
	nLocals
)

// funcTabCode is the start function's code that writes the table at
// table from the columns at blob, with npc pcdata columns: decodeFuncTab,
// in WebAssembly.
func funcTabCode(table, blob, nftab uint32, npc int) wasm {
	nf := int32(nftab - 1)
	T, B := int32(table), int32(blob)
	cols := B + 4*int32(nftab)
	cursors := cols + 4*funcWords*nf
	var c wasm
	// for i := 0; i < nftab; i++ { e += blob[i]; table.entry[i] = e }
	c.loop().
		get(lI).i32(8).mul().i32(T).add(). // &table.entry[i]
		get(lE).get(lI).i32(4).mul().i32(B).add().load().add().tee(lE).
		store().
		inc(lI, 1).get(lI).i32(int32(nftab)).ltU().brIf(0).
		end()
	c.i32(0).set(lI).i32(8 * int32(nftab)).set(lF)
	c.loop() // over records
	// f = (f+7) &^ 7; table.funcoff[i] = f
	c.get(lF).i32(7).add().i32(-8).and().set(lF)
	c.get(lI).i32(8).mul().i32(T + 4).add().get(lF).store()
	// for k := 0; k < funcWords; k++ {
	//	rec[k] = col[k][i] + (i > 0 && deltaWords>>k&1 ? prev[k] : 0)
	// }
	c.i32(0).set(lK).loop().
		get(lF).get(lK).i32(4).mul().add().i32(T).add(). // &rec[k]
		get(lK).i32(nf).mul().get(lI).add().i32(4).mul().i32(cols).add().load().
		get(lP).get(lK).i32(4).mul().add().i32(T).add().load(). // prev[k]
		i32(0).
		get(lI).i32(0).op(0x47).                           // i != 0
		i32(deltaWords).get(lK).shrU().i32(1).and().and(). // && deltaWords>>k&1
		sel().add().store().
		inc(lK, 1).get(lK).i32(funcWords).ltU().brIf(0).
		end()
	c.get(lF).i32(T + 4*7).add().load().set(lN)
	c.get(lF).i32(T + 4*10).add().load().i32(24).shrU().set(lD)
	// for k := 0; k < n+d; k++ {
	//	cursor := k < n ? &cursors[k] : &cursors[npc+k-n]
	//	rec.extra[k] = *(*cursor); *cursor += 4
	// }
	c.i32(0).set(lK).block().loop().
		get(lK).get(lN).get(lD).add().geU().brIf(1).
		get(lK).i32(4).mul().i32(cursors).add().
		get(lK).get(lN).op(0x6b).i32(int32(npc)).add().i32(4).mul().i32(cursors).add(). // i32.sub
		get(lK).get(lN).ltU().sel().set(lC).
		get(lF).i32(T+4*funcWords).add().get(lK).i32(4).mul().add(). // &rec.extra[k]
		get(lC).load().load().store().
		get(lC).get(lC).load().i32(4).add().store().
		inc(lK, 1).br(0).
		end().end()
	// prev = this; f = end of this record
	c.get(lF).set(lP)
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
