package devices

import (
	"errors"
	"fmt"
	"strings"

	"trustforge/devices/dfu"
	"trustforge/wasm/ui/board"
	"trustforge/wasm/ui/kit"
)

// describeDFU says what went wrong with a DFU device in a sentence a
// person can act on.
func describeDFU(err error) string {
	var se *dfu.StatusError
	switch {
	case errors.As(err, &se):
		s := fmt.Sprintf("The device refused to %s: %s (%s).", strings.TrimPrefix(se.Op, "dfu: "), kit.UpperFirst(se.Status.Text()), se.Status)
		if se.Status == dfu.StatusVendor {
			s += " On an STM32 this is read-out protection: the part refuses reads and writes of its flash at RDP level 1."
		}
		return s
	case errors.Is(err, dfu.ErrDisconnected):
		return "The device was unplugged or left the bus: plug it back in. A Zephyr board keeps running its current image; an STM32's bootloader is in ROM and starts again."
	case errors.Is(err, dfu.ErrMismatch):
		return "Read back differs from the file: " + strings.TrimPrefix(err.Error(), dfu.ErrMismatch.Error()+": ") + "."
	case errors.Is(err, dfu.ErrPermanent):
		return "RDP level 2 disables the bootloader and the debug port for ever: the console does not set it."
	case errors.Is(err, dfu.ErrNoDFU):
		return "This USB device has no DFU interface."
	}
	s := board.DescribeDevice(err)
	return strings.ReplaceAll(strings.ReplaceAll(s, "dfu: ", ""), "Dfu: ", "")
}

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
