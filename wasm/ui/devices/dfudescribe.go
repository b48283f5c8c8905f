package devices

import (
	"fmt"
	"strings"

	"trustforge/devices/dfu"
	"trustforge/wasm/errtext"
	"trustforge/wasm/ui/kit"
)

// describeDFU says what went wrong with a DFU device in a sentence a
// person can act on.
func describeDFU(err error) string { return errtext.DFU(err) }

// layoutSummary describes a DfuSe memory for people: "Internal Flash at
// 0x08000000, 1 MiB in 12 sectors (4 × 16 KiB, 1 × 64 KiB, 7 × 128 KiB),
// erasable and writable".
func layoutSummary(l *dfu.Layout) string {
	if len(l.Sectors) == 0 {
		return l.Name
	}
	var groups []string
	for i := 0; i < len(l.Sectors); {
		j := i
		for j < len(l.Sectors) && l.Sectors[j].Size == l.Sectors[i].Size {
			j++
		}
		groups = append(groups, fmt.Sprintf("%d × %s", j-i, kit.SizeText(int64(l.Sectors[i].Size))))
		i = j
	}
	var can []string
	s := l.Sectors[0]
	if s.Readable {
		can = append(can, "readable")
	}
	if s.Erasable {
		can = append(can, "erasable")
	}
	if s.Writable {
		can = append(can, "writable")
	}
	return fmt.Sprintf("%s at 0x%08X, %s in %d sector(s) (%s), %s", l.Name, s.Addr, kit.SizeText(int64(l.Size())), len(l.Sectors),
		strings.Join(groups, ", "), strings.Join(can, ", "))
}
