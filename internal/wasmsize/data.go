package wasmsize

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
)

// A Go program's data section is its initial linear memory: read-only data
// (type descriptors, strings, tables), the PC/line table the runtime uses
// for stack traces, the garbage collector and mapping PCs to functions, and
// initialised variables. DataParts tells these apart with the runtime's own
// map of them, runtime.firstmoduledata, found through the PC/line table's
// header. It knows the layout of Go 1.20 to 1.26 (go1.20 PC/line table magic,
// moduledata fields in that order); for another layout it returns
// ErrNoModuledata rather than a guess.

// ErrNoModuledata is returned by DataParts when the data section holds no
// moduledata laid out as this package knows it.
var ErrNoModuledata = errors.New("wasmsize: no Go moduledata found in the data section")

// DataPart is one region of the initial memory.
type DataPart struct {
	Name   string
	Start  uint32 // address in linear memory
	Memory int    // bytes of memory it spans
	Stored int    // of those, bytes held by data segments (the rest are zeros left out)
}

// pcHeaderMagic starts the header of the PC/line table of Go 1.20 and later
// on WebAssembly: magic 0xfffffff1, two zero pad bytes, instruction size 1,
// pointer size 8.
var pcHeaderMagic = []byte{0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 8}

// memory reads initial memory from sorted, non-overlapping segments.
type memory []segment

// read returns n bytes at addr, zeros where no segment holds them.
func (mem memory) read(addr uint32, n int) []byte {
	out := make([]byte, n)
	i := sort.Search(len(mem), func(i int) bool { return uint64(mem[i].offset)+uint64(len(mem[i].data)) > uint64(addr) })
	for ; i < len(mem) && uint64(mem[i].offset) < uint64(addr)+uint64(n); i++ {
		s := mem[i]
		lo := max(uint64(addr), uint64(s.offset))
		hi := min(uint64(addr)+uint64(n), uint64(s.offset)+uint64(len(s.data)))
		copy(out[lo-uint64(addr):], s.data[lo-uint64(s.offset):hi-uint64(s.offset)])
	}
	return out
}

// stored returns how many bytes of [lo, hi) segments hold.
func (mem memory) stored(lo, hi uint64) int {
	n := 0
	for _, s := range mem {
		a := max(lo, uint64(s.offset))
		b := min(hi, uint64(s.offset)+uint64(len(s.data)))
		if b > a {
			n += int(b - a)
		}
	}
	return n
}

// find returns the addresses where pat starts within a segment.
func (mem memory) find(pat []byte) []uint32 {
	var at []uint32
	for _, s := range mem {
		for off := 0; ; {
			i := bytes.Index(s.data[off:], pat)
			if i < 0 {
				break
			}
			at = append(at, s.offset+uint32(off+i))
			off += i + 1
		}
	}
	return at
}

// DataParts splits the data section into the regions runtime.firstmoduledata
// names, in address order, with whatever lies between them as "other".
func (m *Module) DataParts() ([]DataPart, error) {
	if m.data == nil {
		return nil, ErrNoData
	}
	segs, err := readSegments(m.data)
	if err != nil {
		return nil, err
	}
	mem := memory(segs)
	md, ok := findModuledata(mem)
	if !ok {
		return nil, ErrNoModuledata
	}
	parts, _ := moduledataParts(mem, md)
	return parts, nil
}

// findModuledata returns the address of runtime.firstmoduledata: a word
// pointing to a PC/line table header, followed by the header's function name
// table, whose regions lie in the order moduledataParts checks.
func findModuledata(mem memory) (uint32, bool) {
	u64 := func(addr uint32) uint64 { return binary.LittleEndian.Uint64(mem.read(addr, 8)) }
	for _, hdr := range mem.find(pcHeaderMagic) {
		funcnameOff := u64(hdr + 32)
		var ptr [8]byte
		binary.LittleEndian.PutUint64(ptr[:], uint64(hdr))
		for _, md := range mem.find(ptr[:]) {
			if md%8 != 0 || u64(md+8) != uint64(hdr)+funcnameOff {
				continue
			}
			if _, ok := moduledataParts(mem, md); ok {
				return md, true
			}
		}
	}
	return 0, false
}

// moduledataParts reads runtime.moduledata at md (word indices of Go 1.26's
// struct) and checks that its regions are in the order the linker lays them
// out.
func moduledataParts(mem memory, md uint32) ([]DataPart, bool) {
	w := func(i int) uint64 { return binary.LittleEndian.Uint64(mem.read(md+uint32(8*i), 8)) }
	pcHeader := w(0)
	funcnametab, nfuncname := w(1), w(2)
	cutab, ncu := w(4), w(5)
	filetab, nfile := w(7), w(8)
	pctab, npc := w(10), w(11)
	pclntable, npcln := w(13), w(14)
	findfunctab := w(19)
	noptrdata, enoptrdata, data, edata := w(24), w(25), w(26), w(27)
	types, etypes, rodata, gofunc, epclntab := w(37), w(38), w(39), w(40), w(41)
	bounds := []uint64{rodata, types, etypes, pcHeader, funcnametab, funcnametab + nfuncname,
		cutab, cutab + 4*ncu, filetab, filetab + nfile, pctab, pctab + npc,
		pclntable, pclntable + npcln, gofunc, findfunctab, epclntab}
	if !sort.SliceIsSorted(bounds, func(i, j int) bool { return bounds[i] < bounds[j] }) ||
		noptrdata > enoptrdata || enoptrdata > data || data > edata || edata > 1<<32 || epclntab > noptrdata {
		return nil, false
	}
	regions := []struct {
		name   string
		lo, hi uint64
	}{
		{"read-only data: types, strings, tables", rodata, pcHeader},
		{"pclntab: function names", funcnametab, funcnametab + nfuncname},
		{"pclntab: file names", cutab, filetab + nfile},
		{"pclntab: PC-value tables (stack, file, line)", pctab, pctab + npc},
		{"pclntab: function table", pclntable, pclntable + npcln},
		{"pclntab: funcdata (stack maps)", gofunc, findfunctab},
		{"findfunctab: PC to function buckets (in a packed module: the function table's columns)", findfunctab, epclntab},
		{"noptrdata: variables without pointers", noptrdata, enoptrdata},
		{"data: variables with pointers", data, edata},
	}
	var parts []DataPart
	var end uint64
	if len(mem) > 0 {
		end = uint64(mem[0].offset)
	}
	other := func(lo, hi uint64) {
		if n := mem.stored(lo, hi); n > 0 {
			parts = append(parts, DataPart{Name: "other", Start: uint32(lo), Memory: int(hi - lo), Stored: n})
		}
	}
	for _, r := range regions {
		if r.lo > end {
			other(end, r.lo)
		}
		lo := max(r.lo, end)
		if r.hi > lo {
			parts = append(parts, DataPart{Name: r.name, Start: uint32(lo), Memory: int(r.hi - lo), Stored: mem.stored(lo, r.hi)})
			end = r.hi
		}
	}
	if len(mem) > 0 {
		last := mem[len(mem)-1]
		other(end, uint64(last.offset)+uint64(len(last.data)))
	}
	return parts, true
}

// ReportData writes the data section's parts as aligned text.
func (m *Module) ReportData(w io.Writer) error {
	parts, err := m.DataParts()
	if err != nil {
		_, werr := fmt.Fprintf(w, "\ndata section: %v\n", err)
		return werr
	}
	total := 0
	for _, p := range parts {
		total += p.Memory
	}
	fmt.Fprintf(w, "\ndata section by part (%.1f KiB of initial memory)\n", kib(total))
	tw := newTable(w)
	fmt.Fprintf(tw, "part\tKiB\tstored KiB\tshare\t\n")
	for _, p := range parts {
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f %%\t\n", p.Name, kib(p.Memory), kib(p.Stored), pct(p.Memory, total))
	}
	return tw.Flush()
}
