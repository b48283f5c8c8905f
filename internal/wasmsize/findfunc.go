package wasmsize

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// runtime.findfunctab maps a PC to the function holding it: one 20-byte
// bucket per 4,096 PCs (a 4-byte index into the function table, then 16
// one-byte offsets from it, one per 256 PCs), written by the linker as
// runtime data. On WebAssembly a PC is the function's number times 65,536
// plus a block number, so every function spans exactly 16 buckets and the
// table is a counter: bucket i holds i/16 and sixteen zeros. On the console
// that is 3.6 MiB, a fifth of app.wasm, which a browser receives, hashes
// for its code cache and copies into memory on every start, while a loop
// writes it in about a millisecond.
//
// GenerateFindFuncTab checks that the table is exactly that counter, takes
// it out of the data section (PackData then leaves the zeros out) and adds
// a start function, which WebAssembly runs when the module is instantiated,
// before any export such as Go's run can be called, that writes the indices
// back. The memory Go starts with is byte for byte what the linker wrote.

// Findfunctab geometry of Go's runtime (symtab.go: findfuncbucket).
const (
	funcBucketPCs    = 4096
	funcSubbuckets   = 16
	funcBucketBytes  = 4 + funcSubbuckets
	funcSubbucketPCs = funcBucketPCs / funcSubbuckets
	// wasmFuncPCs is the PCs each Go function spans on WebAssembly
	// (cmd/link: funcValueOffset and the PC_F<<16 | PC_B encoding).
	wasmFuncPCs = 1 << 16
)

// ErrIrregularFindFuncTab is returned by GenerateFindFuncTab when the
// module's findfunctab is not the counter a loop can rewrite: the module is
// then better left as it is.
var ErrIrregularFindFuncTab = errors.New("wasmsize: runtime.findfunctab is not one run of 16 buckets per function")

// FindFuncStats tells what GenerateFindFuncTab did.
type FindFuncStats struct {
	Buckets int    // buckets the start function writes
	Bytes   int    // bytes of the table taken out of the data section
	Addr    uint32 // where the table starts in linear memory
}

// GenerateFindFuncTab returns the module with runtime.findfunctab written
// by a start function instead of stored in the data section (see above).
// It refuses modules with a start function or without Go's moduledata, and
// tables that differ anywhere from the counter.
func GenerateFindFuncTab(b []byte) ([]byte, FindFuncStats, error) {
	out, stats, _, err := generateStart(b, false)
	return out, stats, err
}

// GenerateTables does what GenerateFindFuncTab does and also stores the
// function table as columns in findfunctab's place, for the start function
// to put back together first (see functab.go). A function table it does not
// know is left as it is, with ErrIrregularFuncTab.
func GenerateTables(b []byte) ([]byte, FindFuncStats, FuncTabStats, error) {
	return generateStart(b, true)
}

func generateStart(b []byte, packFuncTab bool) ([]byte, FindFuncStats, FuncTabStats, error) {
	var stats FindFuncStats
	var ftStats FuncTabStats
	var fft uint32
	var nbuckets uint32
	var ft funcTab
	edited, err := rewriteData(b, func(segs []segment) ([]segment, error) {
		mem := memory(segs)
		md, ok := findModuledata(mem)
		if !ok {
			return nil, ErrNoModuledata
		}
		w := func(i int) uint64 { return binary.LittleEndian.Uint64(mem.read(md+uint32(8*i), 8)) }
		table, minpc, maxpc := w(19), w(20), w(21)
		if maxpc <= minpc || maxpc-minpc > 1<<40 || table > maxImage {
			return nil, fmt.Errorf("%w: PCs [%#x, %#x)", ErrIrregularFindFuncTab, minpc, maxpc)
		}
		span := maxpc - minpc
		nb := (span + funcBucketPCs - 1) / funcBucketPCs
		nsub := (span + funcSubbucketPCs - 1) / funcSubbucketPCs
		size := 4*nb + nsub // the last bucket holds only its subbuckets that exist
		if table+size > maxImage || nb > 1<<31/funcBucketBytes {
			return nil, fmt.Errorf("%w: %d buckets at %#x", ErrIrregularFindFuncTab, nb, table)
		}
		have := mem.read(uint32(table), int(size))
		want := make([]byte, size)
		for i := range nb {
			binary.LittleEndian.PutUint32(want[i*funcBucketBytes:], uint32(i*funcBucketPCs/wasmFuncPCs))
		}
		for i := range want {
			if have[i] != want[i] {
				return nil, fmt.Errorf("%w: byte %d of the table is %#x, not %#x", ErrIrregularFindFuncTab, i, have[i], want[i])
			}
		}
		if packFuncTab {
			var err error
			if ft, err = readFuncTab(mem, md, uint32(table)); err != nil {
				return nil, err
			}
			if table%4 != 0 || uint64(len(ft.blob)) > size || uint64(ft.addr)+uint64(ft.size) > table {
				return nil, fmt.Errorf("%w: its columns (%d bytes) do not fit findfunctab's place (%d bytes)", ErrIrregularFuncTab, len(ft.blob), size)
			}
		}
		zero(segs, table, int(size))
		fft, nbuckets = uint32(table), uint32(nb)
		stats = FindFuncStats{Buckets: int(nb), Bytes: int(size), Addr: fft}
		if packFuncTab {
			zero(segs, uint64(ft.addr), ft.size)
			segs = place(segs, fft, ft.blob)
			ftStats = FuncTabStats{Funcs: int(ft.nftab) - 1, Bytes: ft.size, Blob: len(ft.blob), Addr: ft.addr}
		}
		return segs, nil
	})
	if err != nil {
		return nil, FindFuncStats{}, FuncTabStats{}, err
	}
	var code wasm
	if packFuncTab {
		code = funcTabCode(ft.addr, fft, ft.nftab, ft.npc)
		code = append(code, clearCode(fft, (len(ft.blob)+3)&^3)...)
	}
	code = append(code, findFuncCode(fft, nbuckets)...)
	body := append([]byte{0x01, nLocals, 0x7f}, code...) // nLocals locals of type i32
	body = append(body, 0x0b)                            // end of the function
	out, err := addStartFunc(edited, body)
	if err != nil {
		return nil, FindFuncStats{}, FuncTabStats{}, err
	}
	return out, stats, ftStats, nil
}

// place returns segs with the memory at addr set to data, as a segment of
// its own: the parts of segments it covers are left out.
func place(segs []segment, addr uint32, data []byte) []segment {
	end := uint64(addr) + uint64(len(data))
	out := make([]segment, 0, len(segs)+2)
	for _, s := range segs {
		lo, hi := uint64(s.offset), uint64(s.offset)+uint64(len(s.data))
		if hi <= uint64(addr) || lo >= end {
			out = append(out, s)
			continue
		}
		if lo < uint64(addr) {
			out = append(out, segment{offset: s.offset, data: s.data[:uint64(addr)-lo]})
		}
		if hi > end {
			out = append(out, segment{offset: uint32(end), data: s.data[end-lo:]})
		}
	}
	out = append(out, segment{offset: addr, data: append([]byte(nil), data...)})
	sort.SliceStable(out, func(i, j int) bool { return out[i].offset < out[j].offset })
	return out
}

// findFuncCode is code that stores bucket/16 at table + 20*bucket for
// every bucket (local lI counts the buckets):
//
//	(local.set $i (i32.const 0))
//	loop
//	  (i32.store (i32.add (i32.mul (local.get $i) (i32.const 20)) (i32.const table))
//	             (i32.shr_u (local.get $i) (i32.const 4)))
//	  (br_if 0 (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const n)))
//	end
func findFuncCode(table, n uint32) wasm {
	var c wasm
	c.i32(0).set(lI).loop().
		get(lI).i32(funcBucketBytes).mul().i32(int32(table)).add().
		get(lI).i32(4).shrU().
		store().
		get(lI).i32(1).add().tee(lI).i32(int32(n)).ltU().brIf(0).
		end()
	return c
}

// addStartFunc returns the module with a new function of type [] -> [],
// whose body (locals and code) is body, made its start function. The new
// function takes the next index, so no existing index changes.
func addStartFunc(b []byte, body []byte) ([]byte, error) {
	var (
		imported, defined, types int
		secs                     []struct {
			id   byte
			body []byte
		}
	)
	r := &reader{b: b, off: 8}
	for !r.eof() {
		id, _ := r.byte()
		size, _ := r.u32()
		sb, err := r.bytes(size)
		if err != nil {
			return nil, err
		}
		sr := &reader{b: sb}
		switch id {
		case secType:
			if types, err = sr.count(1); err != nil {
				return nil, err
			}
		case secImport:
			if imported, err = countFuncImports(sr); err != nil {
				return nil, err
			}
		case secFunc:
			if defined, err = sr.count(1); err != nil {
				return nil, err
			}
		case secStart:
			return nil, fmt.Errorf("%w: the module already has a start function", ErrUnsupported)
		}
		secs = append(secs, struct {
			id   byte
			body []byte
		}{id, sb})
	}
	if defined == 0 {
		return nil, fmt.Errorf("%w: no function section", ErrUnsupported)
	}
	// A vector's body with its count raised by one and extra appended.
	grow := func(vec []byte, extra []byte) []byte {
		vr := &reader{b: vec}
		n, _ := vr.u32()
		out := appendU32(nil, n+1)
		out = append(out, vec[vr.off:]...)
		return append(out, extra...)
	}
	section := func(out []byte, id byte, body []byte) []byte {
		out = append(out, id)
		out = appendU32(out, uint32(len(body)))
		return append(out, body...)
	}
	out := append([]byte(nil), b[:8]...)
	startIndex := uint32(imported + defined)
	started, typed := false, false
	for _, s := range secs {
		// The start section comes after exports and before elements, the
		// data count, code and data.
		if !started && (s.id == secElement || s.id == secCode || s.id == secData || s.id == secDataCount) {
			out = section(out, secStart, appendU32(nil, startIndex))
			started = true
		}
		switch s.id {
		case secType:
			out = section(out, secType, grow(s.body, []byte{0x60, 0x00, 0x00}))
			typed = true
		case secFunc:
			if !typed {
				return nil, fmt.Errorf("%w: no type section", ErrUnsupported)
			}
			out = section(out, secFunc, grow(s.body, appendU32(nil, uint32(types))))
		case secCode:
			out = section(out, secCode, grow(s.body, append(appendU32(nil, uint32(len(body))), body...)))
		default:
			out = section(out, s.id, s.body)
		}
	}
	if !started {
		return nil, fmt.Errorf("%w: no code section", ErrUnsupported)
	}
	if _, err := Parse(out); err != nil {
		return nil, err
	}
	return out, nil
}
