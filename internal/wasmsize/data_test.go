package wasmsize

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// goDataModule is a module whose data section holds a PC/line table header
// and a runtime.moduledata pointing into it, laid out as Go 1.26's linker
// does, with a gap of zeros in the findfunctab.
func goDataModule() []byte {
	words := func(ws ...uint64) []byte {
		b := make([]byte, 8*len(ws))
		for i, w := range ws {
			binary.LittleEndian.PutUint64(b[8*i:], w)
		}
		return b
	}
	fill := func(n int, c byte) []byte { return []byte(strings.Repeat(string(c), n)) }
	const (
		rodata    = 0x1000
		hdr       = 0x1100 // pcHeader, 72 bytes
		names     = 0x1148 // funcnametab, 0x40
		cutab     = 0x1188 // 4 entries
		filetab   = 0x1198 // 0x18
		pctab     = 0x11b0 // 0x50
		pclntable = 0x1200 // 0x100
		gofunc    = 0x1300
		findfunc  = 0x1380 // to 0x1800
		epclntab  = 0x1800
		noptr     = 0x2000 // moduledata first, 0x200 bytes
		data      = 0x2200 // to 0x2240
	)
	header := cat(pcHeaderMagic, words(10, 2, 0, names-hdr, cutab-hdr, filetab-hdr, pctab-hdr, pclntable-hdr))
	md := make([]uint64, 45)
	md[0] = hdr
	md[1], md[2], md[3] = names, 0x40, 0x40
	md[4], md[5], md[6] = cutab, 4, 4
	md[7], md[8], md[9] = filetab, 0x18, 0x18
	md[10], md[11], md[12] = pctab, 0x50, 0x50
	md[13], md[14], md[15] = pclntable, 0x100, 0x100
	md[19] = findfunc
	md[24], md[25], md[26], md[27] = noptr, data, data, data+0x40
	md[37], md[38], md[39], md[40], md[41] = rodata, hdr-8, rodata, gofunc, epclntab
	return dataModule(
		seg(noptr, cat(words(md...), fill(0x200-8*45, 'n'))),
		seg(data, fill(0x40, 'd')),
		seg(rodata, fill(hdr-rodata, 'r')),
		seg(hdr, cat(header, fill(names+0x40-hdr-len(header), 'f'), fill(0x10, 'c'), fill(0x18, 'l'), fill(0x50, 'p'),
			fill(pclntable-pctab-0x50, 0), fill(0x100, 't'), fill(0x80, 'g'), fill(0x20, 'b'))),
		seg(findfunc+0x400, fill(epclntab-findfunc-0x400, 'b')),
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
		{"findfunctab: PC to function buckets", 0x1380, 0x480, 0x20 + 0x80},
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
