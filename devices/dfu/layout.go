package dfu

import (
	"fmt"
	"strconv"
	"strings"

	"trustforge/internal/usererr"
)

// ErrLayout reports a malformed DfuSe memory layout string.
var ErrLayout = usererr.New("dfu", "malformed DfuSe memory layout")

// Sector is one erase unit of a DfuSe memory region.
type Sector struct {
	Addr, Size uint32
	// What the device allows on it: the letters 'a' to 'g' of the layout
	// string are these three bits (a = readable, b = erasable,
	// d = writable; g = all three).
	Readable, Erasable, Writable bool
}

// End returns the address after the sector.
func (s Sector) End() uint64 { return uint64(s.Addr) + uint64(s.Size) }

// Flags returns the sector's letter in a layout string.
func (s Sector) Flags() byte {
	v := 0
	if s.Readable {
		v |= 1
	}
	if s.Erasable {
		v |= 2
	}
	if s.Writable {
		v |= 4
	}
	return 'a' - 1 + byte(v)
}

// Layout is a DfuSe memory layout, parsed from an alternate setting's name
// such as "@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg".
type Layout struct {
	// Name is the memory's name ("Internal Flash").
	Name string
	// Sectors are in the order the string lists them, each region's
	// sectors following its start address.
	Sectors []Sector
}

// maxSectors bounds what one layout string may declare, so that a few
// bytes cannot make a parser allocate without limit.
const maxSectors = 1 << 16

// ParseLayout parses a DfuSe memory layout string: '@', a name, then one
// or more regions, each "/0xADDRESS/" followed by comma-separated
// "COUNT*SIZE" groups whose size has a unit (' ' or 'B' for bytes, 'K', 'M')
// and a flags letter 'a' to 'g'.
func ParseLayout(s string) (*Layout, error) {
	s = strings.TrimRight(s, "\x00 \t\r\n")
	if !strings.HasPrefix(s, "@") {
		return nil, usererr.Errorf("", "%w: %q does not start with '@'", ErrLayout, s)
	}
	parts := strings.Split(s[1:], "/")
	if len(parts) < 3 || len(parts)%2 == 0 {
		return nil, usererr.Errorf("", "%w: %q is not NAME/ADDRESS/SECTORS", ErrLayout, s)
	}
	l := &Layout{Name: strings.TrimSpace(parts[0])}
	for i := 1; i < len(parts); i += 2 {
		a := strings.TrimSpace(parts[i])
		if !strings.HasPrefix(a, "0x") && !strings.HasPrefix(a, "0X") {
			return nil, usererr.Errorf("", "%w: address %q is not hexadecimal 0x…", ErrLayout, a)
		}
		addr64, err := strconv.ParseUint(a[2:], 16, 32)
		if err != nil {
			return nil, usererr.Errorf("", "%w: address %q: %v", ErrLayout, a, err)
		}
		addr := uint64(addr64)
		for _, g := range strings.Split(parts[i+1], ",") {
			count, size, flags, err := parseGroup(g)
			if err != nil {
				return nil, err
			}
			if len(l.Sectors)+count > maxSectors {
				return nil, usererr.Errorf("", "%w: more than %d sectors", ErrLayout, maxSectors)
			}
			for range count {
				if addr+uint64(size) > 1<<32 {
					return nil, usererr.Errorf("", "%w: %q runs past the 4 GiB address space", ErrLayout, g)
				}
				l.Sectors = append(l.Sectors, Sector{Addr: uint32(addr), Size: size,
					Readable: flags&1 != 0, Erasable: flags&2 != 0, Writable: flags&4 != 0})
				addr += uint64(size)
			}
		}
	}
	return l, nil
}

// parseGroup parses "04*016Kg".
func parseGroup(g string) (count int, size uint32, flags int, err error) {
	raw := g
	g = strings.TrimLeft(g, " ")
	star := strings.IndexByte(g, '*')
	if star <= 0 {
		return 0, 0, 0, usererr.Errorf("", "%w: sector group %q is not COUNT*SIZE", ErrLayout, raw)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(g[:star]), 10, 32)
	if err != nil || n == 0 {
		return 0, 0, 0, usererr.Errorf("", "%w: sector count in %q", ErrLayout, raw)
	}
	rest := g[star+1:]
	d := 0
	for d < len(rest) && rest[d] >= '0' && rest[d] <= '9' {
		d++
	}
	if d == 0 || len(rest) < d+2 {
		return 0, 0, 0, usererr.Errorf("", "%w: sector size in %q wants digits, a unit and a flags letter", ErrLayout, raw)
	}
	sz, err := strconv.ParseUint(rest[:d], 10, 32)
	if err != nil || sz == 0 {
		return 0, 0, 0, usererr.Errorf("", "%w: sector size in %q", ErrLayout, raw)
	}
	unit, letter := rest[d], rest[d+1]
	if strings.TrimSpace(rest[d+2:]) != "" {
		return 0, 0, 0, usererr.Errorf("", "%w: %q has trailing characters", ErrLayout, raw)
	}
	switch unit {
	case ' ', 'B':
	case 'K':
		sz <<= 10
	case 'M':
		sz <<= 20
	default:
		return 0, 0, 0, usererr.Errorf("", "%w: unit %q in %q (want ' ', 'B', 'K' or 'M')", ErrLayout, unit, raw)
	}
	if sz > 1<<32 {
		return 0, 0, 0, usererr.Errorf("", "%w: sector size in %q exceeds 4 GiB", ErrLayout, raw)
	}
	if letter < 'a' || letter > 'g' {
		return 0, 0, 0, usererr.Errorf("", "%w: flags letter %q in %q (want 'a' to 'g')", ErrLayout, letter, raw)
	}
	return int(n), uint32(sz), int(letter - 'a' + 1), nil
}

// String encodes the layout as a DfuSe layout string, consecutive equal
// sectors grouped and sizes in the largest unit that divides them.
func (l *Layout) String() string {
	var b strings.Builder
	b.WriteString("@" + l.Name)
	var next uint64 = 1 << 33
	for i := 0; i < len(l.Sectors); {
		s := l.Sectors[i]
		j := i + 1
		for j < len(l.Sectors) && l.Sectors[j].Size == s.Size && l.Sectors[j].Flags() == s.Flags() &&
			l.Sectors[j].Addr == l.Sectors[j-1].Addr+s.Size {
			j++
		}
		if uint64(s.Addr) != next {
			fmt.Fprintf(&b, "/0x%08X/", s.Addr)
		} else {
			b.WriteByte(',')
		}
		size, unit := s.Size, byte(' ')
		switch {
		case size%(1<<20) == 0:
			size, unit = size>>20, 'M'
		case size%(1<<10) == 0:
			size, unit = size>>10, 'K'
		}
		fmt.Fprintf(&b, "%02d*%03d%c%c", j-i, size, unit, s.Flags())
		next = l.Sectors[j-1].End()
		i = j
	}
	return b.String()
}

// Sector returns the sector holding addr.
func (l *Layout) Sector(addr uint32) (Sector, bool) {
	for _, s := range l.Sectors {
		if addr >= s.Addr && uint64(addr) < s.End() {
			return s, true
		}
	}
	return Sector{}, false
}

// Covering returns the sectors that [addr, addr+n) touches, in address
// order. It fails when part of the range lies outside every sector.
func (l *Layout) Covering(addr uint32, n int) ([]Sector, error) {
	var out []Sector
	end := uint64(addr) + uint64(n)
	for at := uint64(addr); at < end; {
		s, ok := l.Sector(uint32(at))
		if !ok || at >= 1<<32 {
			return nil, usererr.Errorf("dfu", "address %#08x is outside %q", at, l.Name)
		}
		out = append(out, s)
		at = s.End()
	}
	return out, nil
}

// Size returns the bytes the layout's sectors hold.
func (l *Layout) Size() uint64 {
	var n uint64
	for _, s := range l.Sectors {
		n += uint64(s.Size)
	}
	return n
}
