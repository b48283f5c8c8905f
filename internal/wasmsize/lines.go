package wasmsize

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// A Go program's PC/line table tells the runtime, for every function, three
// kinds of PC-value table: the stack pointer offset (pcsp) and the pcdata
// tables (stack map indexes, inlining, bounds-check panics, ...), which
// stack growth, the garbage collector and panics need, and the file and line numbers
// (pcfile, pcln), which only stack traces, runtime.Caller and
// runtime.FuncForPC(pc).FileLine read. On the console the file and line
// tables are a fifth of what a browser downloads of the data section.
//
// StripLines removes them, as `-ldflags=-w` removes DWARF: every function's
// pcfile and pcln offsets become 0, which the runtime reads as "no table"
// (runtime.pcvalue returns -1, so funcline1 reports file "?" and line 0), the
// bytes of those tables that no pcsp or pcdata table shares become zeros,
// and so do the compilation-unit and file-name tables that only those
// lookups read, each function's offset into them (cuOffset) and the line
// its declaration starts on (startLine, read only by runtime.Frame's
// StartLine). The argument info a traceback prints a function's arguments
// from (FUNCDATA_ArgInfo, FUNCDATA_ArgLiveInfo, PCDATA_ArgLiveIndex; read
// only by runtime.printArgs) goes too: offsets become "none" and the bytes
// no other funcdata shares become zeros, so a traceback shows no argument
// values. So do the unsafe-point tables (PCDATA_UnsafePoint): on js/wasm
// nothing reads them, as only asynchronous preemption (driven by signals,
// which WebAssembly has not: preemptMSupported is false) and the
// debugger's call injection (amd64 and arm64 only) do.
//
// Function names, stack maps and everything else the program runs on stay
// byte for byte the same; a stack trace names every function and shows
// "?:0" for its place.

// funcHeader is the size of runtime._func before its pcdata offsets (Go 1.20
// to 1.26): entryOff, nameOff, args, deferreturn, pcsp, pcfile, pcln,
// npcdata, cuOffset, startLine (4 bytes each), funcID, flag, pad, nfuncdata.
const funcHeader = 44

// Offsets of fields of runtime._func.
const (
	funcPCSP    = 16
	funcPCFile  = 20
	funcPCLine  = 24
	funcNPCData = 28
	funcCU      = 32 // cuOffset, then startLine
	funcNFData  = 43
)

// Indexes of the pcdata and funcdata tables only tracebacks read, to print
// a function's arguments (internal/abi's PCDATA_ArgLiveIndex,
// FUNCDATA_ArgInfo, FUNCDATA_ArgLiveInfo), and of the unsafe-point table
// (PCDATA_UnsafePoint) nothing reads on js/wasm.
const (
	pcdataArgLive     = 3
	pcdataUnsafePoint = 0
	funcdataArgInfo   = 5
	funcdataArgLive   = 6
	funcdataNone      = ^uint32(0)
	argInfoEnd        = 0xff // _endSeq; 0xfb to 0xfe are one-byte markers, other entries two bytes
	maxArgInfo        = 256
)

// maxPCData bounds a function's pcdata tables (Go 1.26 has 4 kinds), so a
// forged count cannot make StripLines read past its function.
const maxPCData = 64

// LineStats says what StripLines removed.
type LineStats struct {
	Funcs   int // functions whose file and line tables were dropped
	Zeroed  int // bytes of PC-value tables set to zero
	Shared  int // bytes of file and line tables kept because a pcsp or pcdata table shares them
	FileTab int // bytes of the compilation-unit and file-name tables set to zero
	ArgInfo int // bytes of argument info (what a traceback prints of arguments) set to zero
}

// StripLines returns the module with the file and line tables of its Go
// PC/line table removed (see above), and what it removed. The module must be
// linked by Go 1.20 to 1.26 for js/wasm: without a moduledata laid out as
// DataParts knows it StripLines returns ErrNoModuledata, and it returns
// ErrUnsupported for a function table whose offsets leave their tables.
// Every other section is copied unchanged.
func StripLines(b []byte) ([]byte, LineStats, error) {
	var stats LineStats
	out, err := rewriteData(b, func(segs []segment) ([]segment, error) {
		var err error
		stats, err = stripLines(segs)
		return segs, err
	})
	if err != nil {
		return nil, LineStats{}, err
	}
	return out, stats, nil
}

// pclnTables is where the parts of the PC/line table StripLines touches lie.
type pclnTables struct {
	cutab, filetabEnd uint64 // cutab up to the end of filetab
	pctab, npctab     uint64
	pclntab, npclntab uint64
	ftab, nftab       uint64 // nftab counts functab entries (functions + 1)
	gofunc, gofuncEnd uint64 // the funcdata
}

func stripLines(segs []segment) (LineStats, error) {
	mem := memory(segs)
	md, ok := findModuledata(mem)
	if !ok {
		return LineStats{}, ErrNoModuledata
	}
	u64 := func(addr uint64) uint64 { return binary.LittleEndian.Uint64(mem.read(uint32(addr), 8)) }
	w := func(i int) uint64 { return u64(uint64(md) + uint64(8*i)) }
	t := pclnTables{
		cutab: w(4), filetabEnd: w(7) + w(8),
		pctab: w(10), npctab: w(11),
		pclntab: w(13), npclntab: w(14),
		ftab: w(16), nftab: w(17),
		gofunc: w(40), gofuncEnd: w(19), // findfunctab follows the funcdata
	}
	if t.nftab == 0 || t.ftab+8*t.nftab > t.pclntab+t.npclntab || t.ftab < t.pclntab {
		return LineStats{}, fmt.Errorf("%w: function table of %d entries outside the PC/line table", ErrUnsupported, t.nftab)
	}
	// One byte of pctab each: 1 used by a file or line table, 2 by a table
	// the program runs on.
	const dropped, kept = 1, 2
	use := make([]byte, t.npctab)
	var cache = map[uint32]uint64{} // table offset -> its length, tables are shared
	mark := func(off uint32, how byte) error {
		if off == 0 {
			return nil
		}
		n, seen := cache[off]
		if !seen {
			var err error
			if n, err = tableLen(mem, t.pctab, t.npctab, uint64(off)); err != nil {
				return err
			}
			cache[off] = n
		}
		for i := uint64(off); i < uint64(off)+n; i++ {
			use[i] |= how
		}
		return nil
	}
	u32 := func(addr uint64) uint32 { return binary.LittleEndian.Uint32(mem.read(uint32(addr), 4)) }
	var fields []uint64    // addresses of pcfile fields (pcln follows)
	var pcFields []uint64  // addresses of pcdata offsets of argument liveness tables
	var argFields []uint64 // addresses of funcdata offsets of argument info and liveness
	var argInfos []uint32  // offsets in gofunc of argument info
	keptData := map[uint32]bool{}
	for i := uint64(0); i+1 < t.nftab; i++ {
		f := t.pclntab + uint64(u32(t.ftab+8*i+4))
		npcdata := uint64(u32(f + funcNPCData))
		if npcdata > maxPCData || f < t.pclntab || f+funcHeader+4*npcdata > t.pclntab+t.npclntab {
			return LineStats{}, fmt.Errorf("%w: function %d's record outside the PC/line table", ErrUnsupported, i)
		}
		nfuncdata := uint64(mem.read(uint32(f+funcNFData), 1)[0])
		fd := f + funcHeader + 4*npcdata
		if fd+4*nfuncdata > t.pclntab+t.npclntab {
			return LineStats{}, fmt.Errorf("%w: function %d's funcdata outside the PC/line table", ErrUnsupported, i)
		}
		if err := mark(u32(f+funcPCSP), kept); err != nil {
			return LineStats{}, err
		}
		for j := uint64(0); j < npcdata; j++ {
			how := byte(kept)
			if j == pcdataArgLive || j == pcdataUnsafePoint {
				how = dropped
				pcFields = append(pcFields, f+funcHeader+4*j)
			}
			if err := mark(u32(f+funcHeader+4*j), how); err != nil {
				return LineStats{}, err
			}
		}
		for j := uint64(0); j < nfuncdata; j++ {
			field := fd + 4*j
			off := u32(field)
			switch {
			case off == funcdataNone:
			case (j == funcdataArgInfo || j == funcdataArgLive) && inSegment(segs, field, 4):
				argFields = append(argFields, field)
				if j == funcdataArgInfo {
					argInfos = append(argInfos, off)
				}
			default:
				keptData[off] = true
			}
		}
		if err := mark(u32(f+funcPCFile), dropped); err != nil {
			return LineStats{}, err
		}
		if err := mark(u32(f+funcPCLine), dropped); err != nil {
			return LineStats{}, err
		}
		fields = append(fields, f+funcPCFile)
	}
	stats := LineStats{Funcs: len(fields)}
	for i := 0; i < len(use); {
		switch use[i] {
		case dropped:
			j := i
			for j < len(use) && use[j] == dropped {
				j++
			}
			zero(segs, t.pctab+uint64(i), j-i)
			stats.Zeroed += j - i
			i = j
			continue
		case dropped | kept:
			stats.Shared++
		}
		i++
	}
	for _, f := range fields {
		zero(segs, f, 8)                   // pcfile and pcln
		zero(segs, f-funcPCFile+funcCU, 8) // cuOffset and startLine
	}
	for _, f := range pcFields {
		zero(segs, f, 4)
	}
	for _, f := range argFields {
		set(segs, f, 4, 0xff) // funcdataNone
	}
	for _, off := range argInfos {
		if keptData[off] {
			continue
		}
		keptData[off] = true // once
		n, err := argInfoLen(mem, t.gofunc, t.gofuncEnd, uint64(off))
		if err != nil {
			return LineStats{}, err
		}
		zero(segs, t.gofunc+uint64(off), int(n))
		stats.ArgInfo += int(n)
	}
	if t.filetabEnd > t.cutab && t.filetabEnd <= t.pctab {
		stats.FileTab = int(t.filetabEnd - t.cutab)
		zero(segs, t.cutab, stats.FileTab)
	}
	return stats, nil
}

// tableLen returns the length in bytes of the PC-value table at off in
// pctab: pairs of varints (value delta, PC delta) ended by a zero byte where
// a pair after the first would start (runtime.step).
func tableLen(mem memory, pctab, npctab, off uint64) (uint64, error) {
	if off >= npctab {
		return 0, fmt.Errorf("%w: PC-value table at %d beyond the table's %d bytes", ErrUnsupported, off, npctab)
	}
	const window = 1 << 12
	p := off
	var buf []byte
	var bufAt uint64
	at := func(i uint64) (byte, bool) {
		if i >= npctab {
			return 0, false
		}
		if i < bufAt || i >= bufAt+uint64(len(buf)) {
			bufAt = i
			buf = mem.read(uint32(pctab+i), int(min(window, npctab-i)))
		}
		return buf[i-bufAt], true
	}
	varint := func() bool {
		for n := 0; n < 5; n++ {
			c, ok := at(p)
			if !ok {
				return false
			}
			p++
			if c < 0x80 {
				return true
			}
		}
		return false
	}
	for first := true; ; first = false {
		c, ok := at(p)
		if !ok {
			return 0, fmt.Errorf("%w: PC-value table at %d runs off the table", ErrUnsupported, off)
		}
		if c == 0 && !first {
			return p + 1 - off, nil
		}
		if !varint() || !varint() {
			return 0, fmt.Errorf("%w: PC-value table at %d runs off the table", ErrUnsupported, off)
		}
	}
}

// argInfoLen returns the length of the argument info at off in the
// funcdata (cmd/compile's arginfo: entries up to an end marker).
func argInfoLen(mem memory, gofunc, end, off uint64) (uint64, error) {
	if gofunc+off >= end {
		return 0, fmt.Errorf("%w: argument info at %d beyond the funcdata", ErrUnsupported, off)
	}
	b := mem.read(uint32(gofunc+off), int(min(maxArgInfo, end-gofunc-off)))
	for i := 0; i < len(b); {
		switch c := b[i]; {
		case c == argInfoEnd:
			return uint64(i + 1), nil
		case c >= 0xfb:
			i++
		default:
			i += 2
		}
	}
	return 0, fmt.Errorf("%w: argument info at %d has no end", ErrUnsupported, off)
}

// inSegment reports whether one segment holds all n bytes at addr.
func inSegment(segs []segment, addr uint64, n int) bool {
	i := sort.Search(len(segs), func(i int) bool { return uint64(segs[i].offset)+uint64(len(segs[i].data)) > addr })
	return i < len(segs) && uint64(segs[i].offset) <= addr && addr+uint64(n) <= uint64(segs[i].offset)+uint64(len(segs[i].data))
}

// set sets n bytes at addr, which one segment holds, to c.
func set(segs []segment, addr uint64, n int, c byte) {
	i := sort.Search(len(segs), func(i int) bool { return uint64(segs[i].offset)+uint64(len(segs[i].data)) > addr })
	s := segs[i]
	for k := range n {
		s.data[addr-uint64(s.offset)+uint64(k)] = c
	}
}

// zero sets n bytes of memory at addr to zero; bytes no segment holds are
// zero already.
func zero(segs []segment, addr uint64, n int) {
	i := sort.Search(len(segs), func(i int) bool { return uint64(segs[i].offset)+uint64(len(segs[i].data)) > addr })
	for ; i < len(segs) && uint64(segs[i].offset) < addr+uint64(n); i++ {
		s := segs[i]
		lo := max(addr, uint64(s.offset))
		hi := min(addr+uint64(n), uint64(s.offset)+uint64(len(s.data)))
		if hi > lo {
			clear(s.data[lo-uint64(s.offset) : hi-uint64(s.offset)])
		}
	}
}
