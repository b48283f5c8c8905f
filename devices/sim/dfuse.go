package sim

import (
	"fmt"
	"sync"
	"time"

	"trustforge/devices/dfu"
)

// Defaults of DfuSeConfig: an STM32F4 with 1 MiB of flash, as its system
// bootloader describes itself.
const (
	STVendorID          = 0x0483
	STDfuSeProductID    = 0xdf11
	DefaultDfuSeLayout  = "@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg"
	DefaultOptionLayout = "@Option Bytes  /0x1FFFC000/01*016 e"
	DefaultDfuSeXfer    = 2048
	defaultErasePerKiB  = 100 * time.Microsecond
	defaultDfuSeWrite   = time.Millisecond
	defaultDfuSeEnum    = 5 * time.Millisecond
)

// DfuSeConfig describes a simulated STM32 system bootloader. The zero value
// is an STM32F4 with 1 MiB of flash.
type DfuSeConfig struct {
	// VendorID and ProductID; zero means ST's 0483:df11.
	VendorID, ProductID uint16
	// Serial is the serial number string. Empty means "3276365F3033".
	Serial string
	// Layout is the flash's DfuSe memory layout. Empty means
	// DefaultDfuSeLayout.
	Layout string
	// TransferSize is wTransferSize. Zero means 2048.
	TransferSize int
	// ErasePerKiB is how long erasing a sector takes per KiB, reported as
	// bwPollTimeout. Zero means 100 µs (a real F4 takes about 15 ms; the
	// simulator is faster, and honest about it in its poll timeouts).
	ErasePerKiB time.Duration
	// WriteTime is the bwPollTimeout after a block is written. Zero means
	// 1 ms.
	WriteTime time.Duration
	// Enumerate is how long the device is off the bus when it resets. Zero
	// means 5 ms.
	Enumerate time.Duration
	// NoOptionBytes leaves the option bytes memory out of the alternate
	// settings, as some DfuSe bootloaders do: its read-out protection
	// cannot be read or set over USB.
	NoOptionBytes bool
}

// DfuSe is a simulated STM32 system bootloader speaking DfuSe: alternate
// setting 0 is the internal flash with its sector layout, 1 the option
// bytes. It implements set address, sector and mass erase, download at
// addresses (into erased flash only), upload, leave (the application starts
// and the device leaves the bus) and read unprotect. Option bytes hold the
// read-out protection level: at RDP level 1, reading, writing and erasing
// the flash are refused with errVENDOR, as on real parts, while the option
// bytes stay readable; going back to level 0 erases the flash.
type DfuSe struct {
	*USB
	cfg    DfuSeConfig
	layout *dfu.Layout
	obl    *dfu.Layout
	fn     dfu.Functional

	mu    sync.Mutex // guards what follows against the timers
	flash []byte
	ob    []byte
	app   bool // the application runs (after leave)
	boots int
}

// NewDfuSe makes a simulated STM32 in its system bootloader, flash erased,
// RDP level 0.
func NewDfuSe(cfg DfuSeConfig) (*DfuSe, error) {
	if cfg.VendorID == 0 {
		cfg.VendorID = STVendorID
	}
	if cfg.ProductID == 0 {
		cfg.ProductID = STDfuSeProductID
	}
	if cfg.Serial == "" {
		cfg.Serial = "3276365F3033"
	}
	if cfg.Layout == "" {
		cfg.Layout = DefaultDfuSeLayout
	}
	if cfg.TransferSize == 0 {
		cfg.TransferSize = DefaultDfuSeXfer
	}
	if cfg.ErasePerKiB == 0 {
		cfg.ErasePerKiB = defaultErasePerKiB
	}
	if cfg.WriteTime == 0 {
		cfg.WriteTime = defaultDfuSeWrite
	}
	if cfg.Enumerate == 0 {
		cfg.Enumerate = defaultDfuSeEnum
	}
	l, err := dfu.ParseLayout(cfg.Layout)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	if l.Size() > 64<<20 {
		return nil, fmt.Errorf("sim: a %d-byte flash is too large to simulate", l.Size())
	}
	obl, _ := dfu.ParseLayout(DefaultOptionLayout)
	s := &DfuSe{cfg: cfg, layout: l, obl: obl,
		fn: dfu.Functional{CanDownload: true, CanUpload: true, WillDetach: true, DetachTimeout: 255 * time.Millisecond,
			TransferSize: cfg.TransferSize, Version: dfu.VersionDfuSe},
		flash: make([]byte, l.Size()),
		// USER 0xec, RDP 0xaa (level 0), nWRP: no sector write-protected.
		ob: []byte{0xec, 0xaa, 0x13, 0x55, 0, 0, 0, 0, 0xff, 0x0f, 0, 0xf0, 0, 0, 0, 0},
	}
	for i := range s.flash {
		s.flash[i] = erasedByte
	}
	s.USB = newUSB(nil, cfg.Enumerate)
	s.USB.fn = s.bootloader()
	s.USB.plugIn = func() usbFunction { s.mu.Lock(); s.app = false; s.mu.Unlock(); return s.bootloader() }
	return s, nil
}

// Flash returns a copy of the flash.
func (s *DfuSe) Flash() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.flash...)
}

// RDP returns the read-out protection level.
func (s *DfuSe) RDP() dfu.RDPLevel {
	s.mu.Lock()
	defer s.mu.Unlock()
	return dfu.RDPOf(s.ob[1])
}

// AppRunning reports whether the application was started (leave).
func (s *DfuSe) AppRunning() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.app
}

// EnterBootloader resets the part with BOOT0 held high: the system
// bootloader enumerates again.
func (s *DfuSe) EnterBootloader() {
	s.USB.mu.Lock()
	defer s.USB.mu.Unlock()
	s.mu.Lock()
	s.app = false
	s.mu.Unlock()
	s.USB.reenumerateLocked(s.bootloader())
}

func (s *DfuSe) bootloader() usbFunction {
	s.mu.Lock()
	s.boots++
	s.mu.Unlock()
	b := &dfuseBoot{s: s}
	b.core = newDFUCore(b, s.fn)
	b.core.polled = &s.USB.polled
	return b
}

// dfuseBoot is one run of the system bootloader.
type dfuseBoot struct {
	s       *DfuSe
	core    *dfuCore
	pointer uint32
}

func (b *dfuseBoot) descriptor() (dfu.DeviceDescriptor, []string, []dfu.AltSetting) {
	fn := b.s.fn
	alt := func(n uint8) dfu.AltSetting {
		return dfu.AltSetting{Interface: 0, Alternate: n, Class: dfu.ClassApplication, Subclass: dfu.SubclassDFU,
			Protocol: dfu.ProtocolDFUMode, NameIndex: 4 + n, Functional: &fn}
	}
	d := dfu.DeviceDescriptor{VendorID: b.s.cfg.VendorID, ProductID: b.s.cfg.ProductID, Release: 0x2200, Manufacturer: 1, Product: 2, Serial: 3}
	strs := []string{"STMicroelectronics", "STM32  BOOTLOADER", b.s.cfg.Serial, b.s.cfg.Layout, DefaultOptionLayout}
	if b.s.cfg.NoOptionBytes {
		return d, strs[:4], []dfu.AltSetting{alt(0)}
	}
	return d, strs, []dfu.AltSetting{alt(0), alt(1)}
}

func (b *dfuseBoot) control(in bool, st dfu.Setup, data []byte, length int) ([]byte, error) {
	return b.core.control(in, st, data, length)
}

func (b *dfuseBoot) selectAlt(iface, alt uint8) error {
	if iface != 0 || alt > 1 || alt == 1 && b.s.cfg.NoOptionBytes {
		return fmt.Errorf("sim: interface %d alternate %d: %w", iface, alt, dfu.ErrStall)
	}
	b.core.alt = alt
	return nil
}

func (b *dfuseBoot) busReset() { b.s.USB.reenumerateLocked(b.s.bootloader()) }

func (b *dfuseBoot) layout(alt uint8) *dfu.Layout {
	if alt == 0 {
		return b.s.layout
	}
	return b.s.obl
}

// offset returns where [addr, addr+n) lies in alt's memory.
func (b *dfuseBoot) offset(alt uint8, addr uint32, n int) (int, bool) {
	l := b.layout(alt)
	base := l.Sectors[0].Addr
	if addr < base || uint64(addr)+uint64(n) > uint64(base)+l.Size() {
		return 0, false
	}
	return int(addr - base), true
}

// resetAfter resets the part after d, as it does to apply option bytes or
// after read unprotect: the bootloader enumerates again.
func (b *dfuseBoot) resetAfter(d time.Duration) {
	u := b.s.USB
	time.AfterFunc(d, func() {
		u.mu.Lock()
		defer u.mu.Unlock()
		u.reenumerateLocked(b.s.bootloader())
	})
}

func (b *dfuseBoot) download(alt uint8, block uint16, data []byte) (time.Duration, dfu.Status) {
	s := b.s
	s.mu.Lock()
	defer s.mu.Unlock()
	protected := dfu.RDPOf(s.ob[1]) != dfu.RDP0
	write := s.cfg.WriteTime
	switch {
	case block == 0:
		switch {
		case len(data) == 5 && data[0] == 0x21:
			addr := uint32(data[1]) | uint32(data[2])<<8 | uint32(data[3])<<16 | uint32(data[4])<<24
			if protected && alt == 0 {
				return write, dfu.StatusVendor
			}
			if _, ok := b.offset(alt, addr, 0); !ok {
				return write, dfu.StatusAddress
			}
			b.pointer = addr
			return write, dfu.StatusOK
		case len(data) == 5 && data[0] == 0x41:
			addr := uint32(data[1]) | uint32(data[2])<<8 | uint32(data[3])<<16 | uint32(data[4])<<24
			if alt != 0 {
				return write, dfu.StatusTarget
			}
			if protected {
				return write, dfu.StatusVendor
			}
			sec, ok := s.layout.Sector(addr)
			if !ok {
				return write, dfu.StatusAddress
			}
			if !sec.Erasable {
				return write, dfu.StatusTarget
			}
			off, _ := b.offset(0, sec.Addr, int(sec.Size))
			for i := off; i < off+int(sec.Size); i++ {
				s.flash[i] = erasedByte
			}
			return time.Duration(sec.Size/1024) * s.cfg.ErasePerKiB, dfu.StatusOK
		case len(data) == 1 && data[0] == 0x41:
			if protected {
				return write, dfu.StatusVendor
			}
			for i := range s.flash {
				s.flash[i] = erasedByte
			}
			return time.Duration(len(s.flash)/1024) * s.cfg.ErasePerKiB, dfu.StatusOK
		case len(data) == 1 && data[0] == 0x92:
			// Read unprotect: mass erase, RDP level 0, then a reset.
			for i := range s.flash {
				s.flash[i] = erasedByte
			}
			s.ob[1] = 0xaa
			d := time.Duration(len(s.flash)/1024) * s.cfg.ErasePerKiB
			b.resetAfter(d)
			return d, dfu.StatusOK
		}
		return write, dfu.StatusStalledPkt
	case block == 1:
		return write, dfu.StatusStalledPkt
	}
	addr := uint64(b.pointer) + uint64(block-2)*uint64(s.cfg.TransferSize)
	if addr >= 1<<32 {
		return write, dfu.StatusAddress
	}
	off, ok := b.offset(alt, uint32(addr), len(data))
	if !ok {
		return write, dfu.StatusAddress
	}
	if alt == 1 {
		// Option bytes: written, then applied by a system reset.
		was := dfu.RDPOf(s.ob[1])
		copy(s.ob[off:], data)
		if was != dfu.RDP0 && dfu.RDPOf(s.ob[1]) == dfu.RDP0 {
			for i := range s.flash {
				s.flash[i] = erasedByte
			}
		}
		b.resetAfter(write)
		return write, dfu.StatusOK
	}
	if protected {
		return write, dfu.StatusVendor
	}
	if sec, _ := s.layout.Sector(uint32(addr)); !sec.Writable {
		return write, dfu.StatusWrite
	}
	for i, v := range data {
		if s.flash[off+i] != erasedByte && s.flash[off+i] != v {
			return write, dfu.StatusProg
		}
	}
	copy(s.flash[off:], data)
	return write, dfu.StatusOK
}

func (b *dfuseBoot) upload(alt uint8, block uint16, n int) ([]byte, dfu.Status) {
	s := b.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if block == 0 {
		return []byte{0x00, 0x21, 0x41, 0x92}[:min(4, n)], dfu.StatusOK
	}
	if block == 1 {
		return nil, dfu.StatusStalledPkt
	}
	if alt == 0 && dfu.RDPOf(s.ob[1]) != dfu.RDP0 {
		return nil, dfu.StatusVendor
	}
	addr := uint64(b.pointer) + uint64(block-2)*uint64(s.cfg.TransferSize)
	l := b.layout(alt)
	end := uint64(l.Sectors[0].Addr) + l.Size()
	if addr >= end {
		return nil, dfu.StatusAddress
	}
	n = int(min(uint64(n), end-addr))
	off, ok := b.offset(alt, uint32(addr), n)
	if !ok {
		// The pointer was set in another alternate setting's memory.
		return nil, dfu.StatusAddress
	}
	mem := s.flash
	if alt == 1 {
		mem = s.ob
	}
	return append([]byte(nil), mem[off:off+n]...), dfu.StatusOK
}

// manifest is "leave DFU mode": the bootloader jumps to the application
// once the poll timeout has passed, and the device leaves the bus.
func (b *dfuseBoot) manifest(alt uint8) (time.Duration, dfu.Status) {
	d := b.s.cfg.WriteTime
	u := b.s.USB
	time.AfterFunc(d, func() {
		u.mu.Lock()
		defer u.mu.Unlock()
		b.s.mu.Lock()
		b.s.app = true
		b.s.mu.Unlock()
		u.offLocked()
	})
	return d, dfu.StatusOK
}

func (b *dfuseBoot) manifested(alt uint8) {}
