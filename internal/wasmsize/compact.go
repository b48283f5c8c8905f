package wasmsize

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
)

// StripNames writes each short name where the full name was and pads it
// with NUL bytes, so that no offset changes: the function name table keeps
// its length (573 KiB on the console) and is mostly zeros. CompactNames
// moves the names together, in the same order, and points every reference
// to a name at its new place: each function record's nameOff and each
// inlined call's nameOff (the inline trees, FUNCDATA_InlTree, whose
// entries a function's PCDATA_InlTreeIndex table counts). What follows the
// last name is zeros, which PackData leaves out of the data section. The
// table's bounds in moduledata stay as they are; the runtime reads a name
// from its offset to its NUL byte, never the table's length.

// Indexes of the inline tree's tables (internal/abi: PCDATA_InlTreeIndex,
// FUNCDATA_InlTree) and the layout of its entries (runtime.inlinedCall:
// funcID, 3 bytes of padding, nameOff, parentPc, startLine).
const (
	pcdataInlTree   = 2
	funcdataInlTree = 3
	inlinedCallSize = 16
	inlinedCallName = 4
	maxInlTree      = 1 << 20 // entries of one function's tree
)

// CompactStats says what CompactNames moved.
type CompactStats struct {
	Names   int // names in the table
	Bytes   int // bytes of the table before
	Used    int // bytes holding names after
	Records int // function records pointed at the new places
	Inlined int // inlined calls pointed at the new places
}

// CompactNames returns the module with its function name table moved
// together (see above). Like StripNames it needs a module linked by Go 1.20
// to 1.26 for js/wasm (ErrNoModuledata otherwise); a name reference that
// does not start a name, or an inline tree it cannot bound, is
// ErrUnsupported and leaves the module as it is.
func CompactNames(b []byte) ([]byte, CompactStats, error) {
	var stats CompactStats
	out, err := rewriteData(b, func(segs []segment) ([]segment, error) {
		var err error
		segs, stats, err = compactNames(segs)
		return segs, err
	})
	if err != nil {
		return nil, CompactStats{}, err
	}
	return out, stats, nil
}

func compactNames(segs []segment) ([]segment, CompactStats, error) {
	mem := memory(segs)
	md, ok := findModuledata(mem)
	if !ok {
		return nil, CompactStats{}, ErrNoModuledata
	}
	w := func(i int) uint64 { return binary.LittleEndian.Uint64(mem.read(md+uint32(8*i), 8)) }
	u32 := func(addr uint64) uint32 { return binary.LittleEndian.Uint32(mem.read(uint32(addr), 4)) }
	names, nnames := w(1), w(2)
	pctab, npctab := w(10), w(11)
	pclntab, npclntab := w(13), w(14)
	ftab, nftab := w(16), w(17)
	gofunc, gofuncEnd := w(40), w(19)
	if nnames == 0 || nnames > maxImage || nftab == 0 || ftab != pclntab || 8*nftab > npclntab || gofunc > gofuncEnd {
		return nil, CompactStats{}, fmt.Errorf("%w: name table of %d bytes, %d functions", ErrUnsupported, nnames, nftab)
	}
	tab := mem.read(uint32(names), int(nnames))
	if tab[len(tab)-1] != 0 {
		return nil, CompactStats{}, fmt.Errorf("%w: the function name table's last name has no end", ErrUnsupported)
	}
	// The names referenced, found first, then moved together in order,
	// each with one NUL: the padding StripNames left, and any name nothing
	// names, go.
	var refs []uint64 // addresses of name offsets
	referred := map[uint64]bool{}
	moved := map[uint32]uint32{}
	stats := CompactStats{Bytes: len(tab)}
	refer := func(addr uint64, what string) error {
		off := u32(addr)
		if uint64(off) >= nnames || off > 0 && tab[off-1] != 0 {
			return fmt.Errorf("%w: %s names offset %d, which starts no name", ErrUnsupported, what, off)
		}
		if !referred[addr] {
			referred[addr] = true
			refs = append(refs, addr)
		}
		moved[off] = 0
		return nil
	}
	// The function records' names, and the inline trees to move.
	trees := map[uint64]uint64{} // address of a tree -> entries
	for i := range nftab - 1 {
		f := pclntab + uint64(u32(ftab+8*i+4))
		if f+funcHeader > pclntab+npclntab {
			return nil, CompactStats{}, fmt.Errorf("%w: function %d's record outside the PC/line table", ErrUnsupported, i)
		}
		if err := refer(f+4, fmt.Sprintf("function %d", i)); err != nil {
			return nil, CompactStats{}, err
		}
		stats.Records++
		npcdata := uint64(u32(f + funcNPCData))
		nfuncdata := uint64(mem.read(uint32(f+funcNFData), 1)[0])
		if npcdata > maxPCData || f+funcHeader+4*(npcdata+nfuncdata) > pclntab+npclntab {
			return nil, CompactStats{}, fmt.Errorf("%w: function %d's record outside the PC/line table", ErrUnsupported, i)
		}
		if npcdata <= pcdataInlTree || nfuncdata <= funcdataInlTree {
			continue
		}
		tree := u32(f + funcHeader + 4*(npcdata+funcdataInlTree))
		index := u32(f + funcHeader + 4*pcdataInlTree)
		if tree == funcdataNone || index == 0 {
			continue
		}
		n, err := tableMax(mem, pctab, npctab, uint64(index))
		if err != nil {
			return nil, CompactStats{}, err
		}
		if n < 0 {
			continue
		}
		entries := uint64(n) + 1
		at := gofunc + uint64(tree)
		if entries > maxInlTree || at+entries*inlinedCallSize > gofuncEnd {
			return nil, CompactStats{}, fmt.Errorf("%w: function %d's inline tree of %d entries outside the funcdata", ErrUnsupported, i, entries)
		}
		trees[at] = max(trees[at], entries)
	}
	for at, entries := range trees {
		for e := range entries {
			addr := at + e*inlinedCallSize + inlinedCallName
			if err := refer(addr, "an inlined call"); err != nil {
				return nil, CompactStats{}, err
			}
			stats.Inlined++
		}
	}
	var unstored []segment // fields no segment holds (they were zero)
	move := func(addr uint64) {
		old := u32(addr)
		to := moved[old]
		if to == old {
			return
		}
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], to)
		if !inSegment(segs, addr, 4) {
			unstored = append(unstored, segment{offset: uint32(addr), data: b[:]})
			return
		}
		write(segs, addr, b[:])
	}
	offs := make([]uint32, 0, len(moved))
	for off := range moved {
		offs = append(offs, off)
	}
	slices.Sort(offs)
	packed := make([]byte, 0, len(tab))
	for _, off := range offs {
		moved[off] = uint32(len(packed))
		end := off + uint32(bytes.IndexByte(tab[off:], 0))
		packed = append(append(packed, tab[off:end]...), 0)
	}
	for _, addr := range refs {
		move(addr)
	}
	stats.Names, stats.Used = len(offs), len(packed)
	zero(segs, names, len(tab))
	segs = place(segs, uint32(names), packed)
	for _, u := range unstored {
		segs = place(segs, u.offset, u.data)
	}
	return segs, stats, nil
}

// tableMax returns the largest value of the PC-value table at off in pctab
// (runtime.step: zigzag value deltas from -1 and PC deltas, as varints,
// ended by a zero byte where a pair after the first would start), -1 for
// a table that never leaves -1.
func tableMax(mem memory, pctab, npctab, off uint64) (int64, error) {
	n, err := tableLen(mem, pctab, npctab, off)
	if err != nil {
		return 0, err
	}
	b := mem.read(uint32(pctab+off), int(n))
	p := 0
	varint := func() uint32 {
		var v uint32
		for shift := uint(0); p < len(b); shift += 7 {
			c := b[p]
			p++
			v |= uint32(c&0x7f) << shift
			if c < 0x80 {
				break
			}
		}
		return v
	}
	val, best := int64(-1), int64(-1)
	for first := true; p < len(b); first = false {
		if b[p] == 0 && !first {
			break
		}
		uv := varint()
		var d int32
		if uv&1 != 0 {
			d = ^int32(uv >> 1)
		} else {
			d = int32(uv >> 1)
		}
		varint() // the PC delta
		val += int64(d)
		best = max(best, val)
	}
	return best, nil
}
