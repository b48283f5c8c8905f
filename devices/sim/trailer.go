package sim

import (
	"fmt"

	"trustforge/crypto/mcuimg"
)

// slot is one image slot of the flash: its offset and size, and the layout
// of the MCUboot trailer at its end.
type slot struct {
	flash    *Flash
	off      int
	size     int
	maxAlign int
	trailer  int // bytes the trailer takes (swap status included)
	reserved int // bytes at the end kept for the trailer: whole sectors
}

func newSlot(f *Flash, off, size int) (*slot, error) {
	s := &slot{flash: f, off: off, size: size, maxAlign: max(8, f.Align())}
	n, err := mcuimg.TrailerLayout{Align: f.Align(), MaxAlign: s.maxAlign, Encrypted: true}.Size()
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	s.trailer = n
	s.reserved = (n + f.SectorSize() - 1) / f.SectorSize() * f.SectorSize()
	if s.reserved >= size {
		return nil, fmt.Errorf("sim: a %d-byte slot has no room for its %d-byte trailer", size, n)
	}
	return s, nil
}

// maxImage is the largest image the slot holds: all but the trailer's
// sectors.
func (s *slot) maxImage() int { return s.size - s.reserved }

func alignUp(n, a int) int { return (n + a - 1) / a * a }

// Trailer field offsets within the slot, as MCUboot lays them out.
func (s *slot) magicOff() int    { return s.size - 16 }
func (s *slot) imageOKOff() int  { return s.size - alignUp(16, s.maxAlign) - s.maxAlign }
func (s *slot) copyDoneOff() int { return s.size - alignUp(16, s.maxAlign) - 2*s.maxAlign }

// trailerState is what the bootloader reads of a slot's trailer.
type trailerState struct {
	magic    bool // the trailer magic is written
	imageOK  bool
	copyDone bool
}

func (s *slot) readTrailer() trailerState {
	var t trailerState
	tr, ok := mcuimg.ParseTrailer(s.flash.view(s.off, s.size))
	if !ok || tr.MaxAlign != s.maxAlign {
		return t
	}
	return trailerState{magic: true, imageOK: tr.ImageOKSet(), copyDone: tr.CopyDoneSet()}
}

// writeFlag sets a trailer flag; the field takes maxAlign bytes.
func (s *slot) writeFlag(off int) error {
	b := make([]byte, s.maxAlign)
	for i := range b {
		b[i] = erasedByte
	}
	b[0] = 0x01
	return s.flash.Write(s.off+off, b)
}

func (s *slot) writeMagic() error {
	m := mcuimg.TrailerMagic(s.maxAlign)
	return s.flash.Write(s.off+s.magicOff(), m[:])
}

// eraseTrailer erases the sectors holding the trailer.
func (s *slot) eraseTrailer() error {
	return s.flash.Erase(s.off+s.size-s.reserved, s.reserved)
}

// erase erases the whole slot.
func (s *slot) erase() error { return s.flash.Erase(s.off, s.size) }

// eraseRange erases the sectors covering [0, n) of the slot.
func (s *slot) eraseRange(n int) error {
	return s.flash.Erase(s.off, alignUp(n, s.flash.SectorSize()))
}

// image returns the bytes of the slot before its trailer sectors.
func (s *slot) image() []byte { return s.flash.view(s.off, s.maxImage()) }

// program erases the image area and writes img there, padded with erased
// bytes to the write alignment.
func (s *slot) program(img []byte) error {
	if len(img) > s.maxImage() {
		return fmt.Errorf("sim: a %d-byte image does not fit the slot's %d bytes", len(img), s.maxImage())
	}
	if err := s.flash.Erase(s.off, s.maxImage()); err != nil {
		return err
	}
	p := append([]byte(nil), img...)
	for len(p)%s.flash.Align() != 0 {
		p = append(p, erasedByte)
	}
	return s.flash.Write(s.off, p)
}

// setPending asks for a swap at the next boot, as boot_set_pending does: the
// trailer magic, and image_ok too for a permanent swap.
func (s *slot) setPending(permanent bool) error {
	if err := s.eraseTrailer(); err != nil {
		return err
	}
	if err := s.writeMagic(); err != nil {
		return err
	}
	if permanent {
		return s.writeFlag(s.imageOKOff())
	}
	return nil
}

// setConfirmed sets image_ok in a trailer that has its magic, as
// boot_set_confirmed does; a slot without a trailer is confirmed already.
func (s *slot) setConfirmed() error {
	t := s.readTrailer()
	if !t.magic || t.imageOK {
		return nil
	}
	return s.writeFlag(s.imageOKOff())
}
