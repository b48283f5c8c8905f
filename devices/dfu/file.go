package dfu

import (
	"bytes"
	"sort"

	"trustforge/crypto/mcuimg/ihex"
	"trustforge/internal/usererr"
)

// Element is a run of bytes to write at an address.
type Element struct {
	Address uint32
	Data    []byte
}

// End returns the address after the element.
func (e Element) End() uint64 { return uint64(e.Address) + uint64(len(e.Data)) }

// maxImage bounds what one image file may hold.
const maxImage = 256 << 20

// LoadImage reads a firmware file into elements: an Intel HEX file (by its
// content: a leading ':') keeps its own addresses; a raw binary is placed
// at addr. The elements are sorted and must not overlap.
func LoadImage(data []byte, addr uint32) ([]Element, error) {
	trim := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(trim) > 0 && trim[0] == ':' {
		f, err := ihex.Parse(data)
		if err != nil {
			return nil, usererr.Errorf("dfu", "%w", err)
		}
		var out []Element
		for _, s := range f.Segments {
			out = append(out, Element{Address: s.Addr, Data: s.Data})
		}
		if len(out) == 0 {
			return nil, usererr.Errorf("dfu", "the Intel HEX file holds no data")
		}
		return out, nil
	}
	if len(data) == 0 {
		return nil, usererr.Errorf("dfu", "the file is empty")
	}
	if uint64(addr)+uint64(len(data)) > 1<<32 {
		return nil, usererr.Errorf("dfu", "%d bytes at %#08x run past 4 GiB", len(data), addr)
	}
	return []Element{{Address: addr, Data: data}}, nil
}

// SortElements sorts elements by address and fails when two overlap.
func SortElements(els []Element) error {
	sort.SliceStable(els, func(i, j int) bool { return els[i].Address < els[j].Address })
	for i := 1; i < len(els); i++ {
		if uint64(els[i].Address) < els[i-1].End() {
			return usererr.Errorf("dfu", "data at %#08x overlaps data at %#08x–%#08x", els[i].Address, els[i-1].Address, els[i-1].End())
		}
	}
	return nil
}
