package wasmsize

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// Addresses of the PC/line table and variables of goDataModule and
// linesModule, laid out as Go 1.26's linker does.
const (
	goRodata    = 0x1000
	goHdr       = 0x1100 // pcHeader, 72 bytes
	goNames     = 0x1148 // funcnametab, 0x40
	goCutab     = 0x1188 // 4 entries
	goFiletab   = 0x1198 // 0x18
	goPctab     = 0x11b0 // 0x50
	goPclntable = 0x1200 // 0x100
	goGofunc    = 0x1300 // 0x80
	goFindfunc  = 0x1380
	goNoptr     = 0x2000 // moduledata first, 0x200 bytes
	goData      = 0x2200 // to 0x2240
)

// words is ws in little-endian 64-bit words.
func words(ws ...uint64) []byte {
	b := make([]byte, 8*len(ws))
	for i, w := range ws {
		binary.LittleEndian.PutUint64(b[8*i:], w)
	}
	return b
}

// fill is n bytes c.
func fill(n int, c byte) []byte { return bytes.Repeat([]byte{c}, n) }

// goTables returns the segments of a PC/line table header and a
// runtime.moduledata pointing into it, at the addresses above, with nftab
// function table entries at the start of the pclntable and the findfunctab
// ending at epclntab, and the variables after it.
func goTables(nftab, epclntab uint64) (header, moduledata, data []byte) {
	header = cat(pcHeaderMagic, words(10, 2, 0, goNames-goHdr, goCutab-goHdr, goFiletab-goHdr, goPctab-goHdr, goPclntable-goHdr))
	md := make([]uint64, 45)
	md[0] = goHdr
	md[1], md[2], md[3] = goNames, 0x40, 0x40
	md[4], md[5], md[6] = goCutab, 4, 4
	md[7], md[8], md[9] = goFiletab, 0x18, 0x18
	md[10], md[11], md[12] = goPctab, 0x50, 0x50
	md[13], md[14], md[15] = goPclntable, 0x100, 0x100
	md[16], md[17], md[18] = goPclntable, nftab, nftab
	md[19] = goFindfunc
	md[24], md[25], md[26], md[27] = goNoptr, goData, goData, goData+0x40
	md[37], md[38], md[39], md[40], md[41] = goRodata, goHdr-8, goRodata, goGofunc, epclntab
	return header, seg(goNoptr, cat(words(md...), fill(0x200-8*45, 'n'))), seg(goData, fill(0x40, 'd'))
}

// goDataModule is a module whose data section holds a PC/line table header
// and a runtime.moduledata pointing into it, laid out as Go 1.26's linker
// does, with a gap of zeros in the findfunctab.
func goDataModule() []byte {
	const epclntab = 0x1800
	header, md, data := goTables(0, epclntab)
	return dataModule(
		md, data,
		seg(goRodata, fill(goHdr-goRodata, 'r')),
		seg(goHdr, cat(header, fill(goNames+0x40-goHdr-len(header), 'f'), fill(0x10, 'c'), fill(0x18, 'l'), fill(0x50, 'p'),
			fill(goPclntable-goPctab-0x50, 0), fill(0x100, 't'), fill(0x80, 'g'), fill(0x20, 'b'))),
		seg(goFindfunc+0x400, fill(epclntab-goFindfunc-0x400, 'b')),
	)
}

func TestDataParts(t *testing.T) {
	m, err := Parse(goDataModule())
	if err != nil {
		t.Fatal(err)
	}
	parts, err := m.DataParts()
	if err != nil {
		t.Fatal(err)
	}
	want := []DataPart{
		{"read-only data: types, strings, tables", 0x1000, 0x100, 0x100},
		{"other", 0x1100, 0x48, 0x48},
		{"pclntab: function names", 0x1148, 0x40, 0x40},
		{"pclntab: file names", 0x1188, 0x28, 0x28},
		{"pclntab: PC-value tables (stack, file, line)", 0x11b0, 0x50, 0x50},
		{"pclntab: function table", 0x1200, 0x100, 0x100},
		{"pclntab: funcdata (stack maps)", 0x1300, 0x80, 0x80},
		{"findfunctab: PC to function buckets (in a packed module: the function table's columns)", 0x1380, 0x480, 0x20 + 0x80},
		{"noptrdata: variables without pointers", 0x2000, 0x200, 0x200},
		{"data: variables with pointers", 0x2200, 0x40, 0x40},
	}
	if len(parts) != len(want) {
		t.Fatalf("%d parts, want %d: %+v", len(parts), len(want), parts)
	}
	for i := range want {
		if parts[i] != want[i] {
			t.Errorf("part %d: %+v, want %+v", i, parts[i], want[i])
		}
	}
	var out strings.Builder
	if err := m.ReportData(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "findfunctab: PC to function buckets") {
		t.Errorf("report lacks the findfunctab:\n%s", out.String())
	}
}

func TestDataPartsWithoutModuledata(t *testing.T) {
	m, err := Parse(dataModule(seg(100, pcHeaderMagic)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.DataParts(); !errors.Is(err, ErrNoModuledata) {
		t.Errorf("err %v, want ErrNoModuledata", err)
	}
	var out strings.Builder
	if err := m.ReportData(&out); err != nil || !strings.Contains(out.String(), "no Go moduledata") {
		t.Errorf("report %q, %v", out.String(), err)
	}
}
