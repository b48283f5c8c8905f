package errtext

import (
	"errors"
	"fmt"

	"trustforge/devices/dfu"
	"trustforge/internal/usererr"
)

// DFU is [Describe] for errors of USB DFU devices, in a sentence a person
// can act on.
func DFU(err error) string {
	var (
		se *dfu.StatusError
		me *dfu.MismatchError
	)
	switch {
	case errors.As(err, &se):
		s := fmt.Sprintf("The device refused to %s: %s (%s).", se.Op, UpperFirst(se.Status.Text()), se.Status)
		if se.Status == dfu.StatusVendor {
			s += " On an STM32 this is read-out protection: the part refuses reads and writes of its flash at RDP level 1."
		}
		return s
	case errors.Is(err, dfu.ErrDisconnected):
		return "The device was unplugged or left the bus: plug it back in. A Zephyr board keeps running its current image; an STM32's bootloader is in ROM and starts again."
	case errors.As(err, &me):
		return "Read back differs from the file: " + me.Where + "."
	case errors.Is(err, dfu.ErrMismatch):
		return Sentence(usererr.Message(err))
	case errors.Is(err, dfu.ErrPermanent):
		return "RDP level 2 disables the bootloader and the debug port for ever: the console does not set it."
	case errors.Is(err, dfu.ErrNoDFU):
		return "This USB device has no DFU interface."
	}
	return Device(err)
}
