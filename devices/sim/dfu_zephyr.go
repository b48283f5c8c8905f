package sim

import (
	"fmt"
	"time"

	"trustforge/devices/dfu"
)

// Defaults of ZephyrDFUConfig, as Zephyr's USB device stack sets them.
const (
	ZephyrVendorID       = 0x2fe3
	ZephyrProductID      = 0x0100
	ZephyrDFUProductID   = 0xffff
	DefaultZephyrXfer    = 1024
	DefaultZephyrDetach  = time.Second
	defaultZephyrEnum    = 5 * time.Millisecond
	defaultZephyrWrite   = time.Millisecond
	zephyrSlotNamePrefix = "image-"
)

// ZephyrDFUConfig describes the USB side of a simulated Zephyr board with
// the USB DFU class. The zero value is Zephyr's defaults.
type ZephyrDFUConfig struct {
	// VendorID and ProductID are the application's (run-time) IDs; zero
	// means ZephyrVendorID and ZephyrProductID. DFUProductID is the
	// product ID in DFU mode; zero means ZephyrDFUProductID.
	VendorID, ProductID, DFUProductID uint16
	// Serial is the serial number string. Empty means the board's name.
	Serial string
	// TransferSize is wTransferSize. Zero means DefaultZephyrXfer.
	TransferSize int
	// WriteTime is the bwPollTimeout after each block (flash write). Zero
	// means 1 ms.
	WriteTime time.Duration
	// EraseTime is how long erasing a slot takes, reported after the first
	// block. Zero means 1 ms per sector.
	EraseTime time.Duration
	// Enumerate is how long the device is off the bus when it
	// re-enumerates. Zero means 5 ms.
	Enumerate time.Duration
}

// ZephyrDFU is the USB device of a simulated Zephyr board built with the
// USB DFU class over MCUboot: in run-time mode it has a DFU run-time
// interface and a vendor interface carrying SMP; DFU_DETACH and a USB reset
// bring it back in DFU mode, with alternate settings "image-0" and
// "image-1" for the board's two slots. A download into image-1 asks MCUboot
// for a test swap (boot_request_upgrade, as Zephyr's DFU class does once
// manifestation is over); the next USB reset reboots the board, which then
// runs the new image unconfirmed until confirmed over SMP.
type ZephyrDFU struct {
	*USB
	board *Board
	cfg   ZephyrDFUConfig
	fn    dfu.Functional
}

// NewZephyrDFU gives b a USB port with Zephyr's DFU class. It enumerates in
// run-time mode when the board runs an application, in DFU mode when it
// has none (as MCUboot's own USB DFU recovery does).
func NewZephyrDFU(b *Board, cfg ZephyrDFUConfig) *ZephyrDFU {
	if cfg.VendorID == 0 {
		cfg.VendorID = ZephyrVendorID
	}
	if cfg.ProductID == 0 {
		cfg.ProductID = ZephyrProductID
	}
	if cfg.DFUProductID == 0 {
		cfg.DFUProductID = ZephyrDFUProductID
	}
	if cfg.Serial == "" {
		cfg.Serial = b.cfg.Name
	}
	if cfg.TransferSize == 0 {
		cfg.TransferSize = DefaultZephyrXfer
	}
	if cfg.WriteTime == 0 {
		cfg.WriteTime = defaultZephyrWrite
	}
	if cfg.EraseTime == 0 {
		cfg.EraseTime = time.Duration(b.cfg.SlotSize/b.cfg.SectorSize) * time.Millisecond
	}
	if cfg.Enumerate == 0 {
		cfg.Enumerate = defaultZephyrEnum
	}
	z := &ZephyrDFU{board: b, cfg: cfg, fn: dfu.Functional{CanDownload: true, CanUpload: true, ManifestationTolerant: true,
		DetachTimeout: DefaultZephyrDetach, TransferSize: cfg.TransferSize, Version: dfu.Version11}}
	z.USB = newUSB(nil, cfg.Enumerate)
	z.USB.fn = z.boot()
	// A bus-powered board restarts when plugged back in.
	z.USB.plugIn = func() usbFunction { z.board.Reset(); return z.boot() }
	return z
}

// Board returns the board behind the port.
func (z *ZephyrDFU) Board() *Board { return z.board }

// boot is the function the board enumerates as after a (re)boot.
func (z *ZephyrDFU) boot() usbFunction {
	if z.board.Running().Recovery {
		return z.dfuMode()
	}
	return &zephyrRuntime{z: z}
}

func (z *ZephyrDFU) dfuMode() usbFunction {
	m := &zephyrDFUMode{z: z}
	m.core = newDFUCore(m, z.fn)
	m.core.polled = &z.USB.polled
	return m
}

// reboot resets the board and re-enumerates with what it boots into.
func (z *ZephyrDFU) rebootLocked() {
	z.board.Reset()
	z.USB.reenumerateLocked(z.boot())
}

func (z *ZephyrDFU) strings(mode string) []string {
	return []string{"ZEPHYR", "trustforge Zephyr board (" + mode + ")", z.cfg.Serial, "SMP", "image-0", "image-1"}
}

// zephyrRuntime is the application with the DFU run-time interface.
type zephyrRuntime struct {
	z        *ZephyrDFU
	detached bool
}

func (r *zephyrRuntime) descriptor() (dfu.DeviceDescriptor, []string, []dfu.AltSetting) {
	fn := r.z.fn
	return dfu.DeviceDescriptor{VendorID: r.z.cfg.VendorID, ProductID: r.z.cfg.ProductID, Release: 0x0300, Manufacturer: 1, Product: 2, Serial: 3},
		r.z.strings("application"),
		[]dfu.AltSetting{
			{Interface: 0, Class: dfu.ClassApplication, Subclass: dfu.SubclassDFU, Protocol: dfu.ProtocolRuntime, Functional: &fn},
			{Interface: 1, Class: 0xff, NameIndex: 4, Endpoints: []uint8{0x81, 0x02}},
		}
}

func (r *zephyrRuntime) control(in bool, s dfu.Setup, data []byte, length int) ([]byte, error) {
	if s.Type != dfu.Class || s.Recipient != dfu.ToInterface || s.Index != 0 {
		return nil, fmt.Errorf("sim: request %d to interface %d: %w", s.Request, s.Index, dfu.ErrStall)
	}
	state := dfu.AppIdle
	if r.detached {
		state = dfu.AppDetach
	}
	switch {
	case !in && s.Request == 0: // DETACH
		r.detached = true
		return nil, nil
	case in && s.Request == 3: // GETSTATUS
		return dfu.StatusReport{State: state}.Bytes(), nil
	case in && s.Request == 5: // GETSTATE
		return []byte{byte(state)}, nil
	}
	return nil, fmt.Errorf("sim: DFU request %d in run-time mode: %w", s.Request, dfu.ErrStall)
}

func (r *zephyrRuntime) selectAlt(iface, alt uint8) error {
	if iface > 1 || alt != 0 {
		return fmt.Errorf("sim: interface %d alternate %d: %w", iface, alt, dfu.ErrStall)
	}
	return nil
}

// busReset after DETACH restarts the device in DFU mode (Zephyr re-inits
// its USB stack with the DFU-mode descriptors, without rebooting).
func (r *zephyrRuntime) busReset() {
	if r.detached {
		r.z.USB.reenumerateLocked(r.z.dfuMode())
	}
}

// zephyrDFUMode is the device in DFU mode.
type zephyrDFUMode struct {
	z       *ZephyrDFU
	core    *dfuCore
	written int    // bytes of the slot written so far
	tail    []byte // bytes held back for write alignment
	failed  bool
}

func (m *zephyrDFUMode) descriptor() (dfu.DeviceDescriptor, []string, []dfu.AltSetting) {
	fn := m.z.fn
	alt := func(n uint8) dfu.AltSetting {
		return dfu.AltSetting{Interface: 0, Alternate: n, Class: dfu.ClassApplication, Subclass: dfu.SubclassDFU,
			Protocol: dfu.ProtocolDFUMode, NameIndex: 5 + n, Functional: &fn}
	}
	return dfu.DeviceDescriptor{VendorID: m.z.cfg.VendorID, ProductID: m.z.cfg.DFUProductID, Release: 0x0300, Manufacturer: 1, Product: 2, Serial: 3},
		m.z.strings("DFU mode"), []dfu.AltSetting{alt(0), alt(1)}
}

func (m *zephyrDFUMode) control(in bool, s dfu.Setup, data []byte, length int) ([]byte, error) {
	return m.core.control(in, s, data, length)
}

func (m *zephyrDFUMode) selectAlt(iface, alt uint8) error {
	if iface != 0 || alt > 1 {
		return fmt.Errorf("sim: interface %d alternate %d: %w", iface, alt, dfu.ErrStall)
	}
	m.core.alt, m.written, m.tail = alt, 0, nil
	return nil
}

// busReset reboots the board: MCUboot runs, then the application.
func (m *zephyrDFUMode) busReset() { m.z.rebootLocked() }

func (m *zephyrDFUMode) slot(alt uint8) *slot {
	if alt == 0 {
		return m.z.board.primary
	}
	return m.z.board.secondary
}

func (m *zephyrDFUMode) download(alt uint8, block uint16, data []byte) (time.Duration, dfu.Status) {
	b := m.z.board
	b.mu.Lock()
	defer b.mu.Unlock()
	s := m.slot(alt)
	busy := m.z.cfg.WriteTime
	if block == 0 {
		// A new download: the slot is erased first.
		if err := s.erase(); err != nil {
			return busy, dfu.StatusErase
		}
		busy += m.z.cfg.EraseTime
		m.written, m.tail = 0, nil
	}
	if m.written+len(m.tail)+len(data) > s.size {
		return busy, dfu.StatusAddress
	}
	m.tail = append(m.tail, data...)
	n := len(m.tail) / b.flash.Align() * b.flash.Align()
	if n > 0 {
		if err := b.flash.Write(s.off+m.written, m.tail[:n]); err != nil {
			return busy, dfu.StatusWrite
		}
		m.written += n
		m.tail = append([]byte(nil), m.tail[n:]...)
	}
	return busy, dfu.StatusOK
}

func (m *zephyrDFUMode) manifest(alt uint8) (time.Duration, dfu.Status) {
	b := m.z.board
	b.mu.Lock()
	defer b.mu.Unlock()
	s := m.slot(alt)
	if len(m.tail) > 0 {
		p := append([]byte(nil), m.tail...)
		for len(p)%b.flash.Align() != 0 {
			p = append(p, erasedByte)
		}
		if err := b.flash.Write(s.off+m.written, p); err != nil {
			return m.z.cfg.WriteTime, dfu.StatusWrite
		}
		m.written += len(p)
		m.tail = nil
	}
	if m.written == 0 {
		return 0, dfu.StatusNotDone
	}
	if alt == 1 {
		// boot_request_upgrade(BOOT_UPGRADE_TEST)
		if err := s.setPending(false); err != nil {
			return m.z.cfg.WriteTime, dfu.StatusProg
		}
	}
	return m.z.cfg.WriteTime, dfu.StatusOK
}

func (m *zephyrDFUMode) manifested(alt uint8) { m.written = 0 }

func (m *zephyrDFUMode) upload(alt uint8, block uint16, n int) ([]byte, dfu.Status) {
	b := m.z.board
	b.mu.Lock()
	defer b.mu.Unlock()
	s := m.slot(alt)
	off := int(block) * m.z.cfg.TransferSize
	if off >= s.size {
		return nil, dfu.StatusOK
	}
	out, err := b.flash.Read(s.off+off, min(n, s.size-off))
	if err != nil {
		return nil, dfu.StatusAddress
	}
	return out, dfu.StatusOK
}
