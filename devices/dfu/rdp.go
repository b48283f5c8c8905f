package dfu

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"trustforge/internal/usererr"
)

// RDPLevel is an STM32 read-out protection level.
type RDPLevel int

// Read-out protection levels. Level 1 refuses reads of the flash through
// the bootloader and the debug port; going back to level 0 erases the
// whole flash. Level 2 disables both for good.
const (
	RDP0 RDPLevel = 0
	RDP1 RDPLevel = 1
	RDP2 RDPLevel = 2
)

// RDP byte values (the option byte; every other value means level 1).
const (
	rdpByte0 = 0xaa
	rdpByte1 = 0x55 // the value SetRDP writes for level 1
	rdpByte2 = 0xcc
)

// String names the level.
func (l RDPLevel) String() string { return fmt.Sprintf("RDP level %d", int(l)) }

// RDPOf returns the level an RDP option byte sets.
func RDPOf(b byte) RDPLevel {
	switch b {
	case rdpByte0:
		return RDP0
	case rdpByte2:
		return RDP2
	}
	return RDP1
}

// ErrPermanent is returned by SetRDP for level 2, which cannot be undone
// by any means and leaves the part without a bootloader or debug port.
var ErrPermanent = usererr.New("dfu", "RDP level 2 disables the bootloader and the debug port for ever; trustforge does not set it")

// optionBytes locates the RDP byte of the selected alternate setting, which
// must be a DfuSe "Option Bytes" memory: it is byte 1 of the first option
// word, as on STM32F2, F4 and F7 parts (0x1FFFC000).
func (d *Device) optionBytes() (*Layout, error) {
	l, err := d.Layout()
	if err != nil {
		return nil, err
	}
	if !strings.Contains(strings.ToLower(l.Name), "option bytes") || len(l.Sectors) == 0 || l.Sectors[0].Size < 2 {
		return nil, usererr.Errorf("dfu", "alternate setting %q is not an option bytes memory", d.alt.Name)
	}
	return l, nil
}

// OptionBytes reads the first option bytes sector of the selected
// alternate setting.
func (d *Device) OptionBytes(ctx context.Context) (addr uint32, ob []byte, err error) {
	l, err := d.optionBytes()
	if err != nil {
		return 0, nil, err
	}
	s := l.Sectors[0]
	ob, err = d.UploadAt(ctx, s.Addr, int(s.Size), nil)
	if err != nil {
		return 0, nil, usererr.Errorf("dfu", "reading option bytes: %w", err)
	}
	return s.Addr, ob, nil
}

// ReadRDP returns the read-out protection level from the option bytes.
func (d *Device) ReadRDP(ctx context.Context) (RDPLevel, error) {
	_, ob, err := d.OptionBytes(ctx)
	if err != nil {
		return 0, err
	}
	return RDPOf(ob[1]), nil
}

// SetRDP writes the option bytes with the RDP byte of level, keeping the
// others. The device applies option bytes by resetting, so it
// re-enumerates afterwards. Leaving level 1 for level 0 makes the part
// erase its whole flash. Level 2 is refused with ErrPermanent.
func (d *Device) SetRDP(ctx context.Context, level RDPLevel) error {
	var v byte
	switch level {
	case RDP0:
		v = rdpByte0
	case RDP1:
		v = rdpByte1
	case RDP2:
		return ErrPermanent
	default:
		return usererr.Errorf("dfu", "RDP level %d does not exist", int(level))
	}
	addr, ob, err := d.OptionBytes(ctx)
	if err != nil {
		return err
	}
	if ob[1] == v || (level == RDP1 && RDPOf(ob[1]) == RDP1) {
		return nil
	}
	ob[1] = v
	err = d.write(ctx, addr, ob, func(int64) {})
	if err == nil || errors.Is(err, ErrDisconnected) {
		return nil
	}
	return usererr.Errorf("dfu", "writing option bytes: %w", err)
}
