package sim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"trustforge/crypto/espimg"
	"trustforge/devices/esprom"
)

// ESPConfig configures an ESPBoard. The zero value is an ESP32-C3 v0.4
// with 4 MiB of erased flash and fresh eFuses, unpaced, in download mode.
type ESPConfig struct {
	// Baud paces the UART at this many bits per second (10 bits a byte);
	// zero leaves it unpaced. CHANGE_BAUDRATE changes it.
	Baud int
	// FlashSize in bytes; zero means 4 MiB.
	FlashSize int
	// MAC is the factory MAC in eFuse block 1; nil means 58:cf:79:00:00:01.
	MAC net.HardwareAddr
	// Revision is the chip revision (major*100+minor); zero means v0.4.
	Revision espimg.Revision
	// EncryptOnFirstBoot stands for a bootloader built with flash
	// encryption enabled: a boot that finds SPI_BOOT_CRYPT_CNT even
	// generates the key on the device (unless one is burned), encrypts
	// the flash in place and turns flash encryption on, as ESP-IDF's
	// bootloader does.
	EncryptOnFirstBoot bool
	// Chip is espimg.ESP32S3 for an ESP32-S3 (its eFuse controller's
	// address, its DIS_USB_JTAG bit, its chip magic, and a ROM whose
	// GET_SECURITY_INFO names no chip, so clients read the magic
	// register); anything else simulates an ESP32-C3.
	Chip espimg.Chip
	// USBJTAG makes the modem lines act as the USB-Serial-JTAG peripheral
	// reads them, instead of a classic auto-reset circuit.
	USBJTAG bool
	// RunAtStart boots the flash at power-on instead of waiting in
	// download mode (as if BOOT were held).
	RunAtStart bool
	// SyncEntersDownload stands in for the auto-reset circuit on links
	// without modem lines (a pty): a SYNC that arrives while the flash's
	// app runs resets the chip into download mode.
	SyncEntersDownload bool
	// Log receives the simulator's events (nil: none).
	Log io.Writer
}

// ESPBoard simulates an ESP32-C3 for its ROM loader: SPI flash, the eFuse
// controller as the Technical Reference Manual maps its registers, the
// SPI flash id command, and what the ROM and second stage bootloader do at
// boot with Secure Boot v2 and flash encryption. Flash writes take no
// time; only the UART is paced.
type ESPBoard struct {
	cfg ESPConfig

	mu       sync.Mutex
	flash    []byte
	efuse    espEfuse
	spi      [0x100 / 4]uint32
	mode     espMode
	sdm      bool // Secure Download Mode, latched at reset from the eFuse
	baud     int
	byteTime time.Duration
	wr       *espWrite
	lines    struct{ dtr, rts, bootLatched bool }
	// history holds the lines' last levels with when they were set: the
	// strapping pins are sampled as they were at EN's edge plus its RC
	// delay, however late the simulator's timer runs on a loaded machine.
	history  []lineLevel
	resetGen int
	lastBoot ESPBoot
	boots    int
	writes   int // flash writes since creation, for tests
	tx       *espLine
}

type espMode int

const (
	espDownload espMode = iota
	espRunning
	espHalted
)

// ESPBoot is the outcome of a boot from flash.
type ESPBoot struct {
	OK     bool
	Reason string // why the boot stopped, when !OK
	// App is the booted app's description and AppSHA256 its image hash.
	App                         espimg.AppDesc
	AppSHA256                   [32]byte
	Offset                      uint32 // the app partition
	SecureBoot, FlashEncryption bool
}

// NewESPBoard makes a board with erased flash and blank eFuses.
func NewESPBoard(cfg ESPConfig) *ESPBoard {
	if cfg.FlashSize == 0 {
		cfg.FlashSize = 4 << 20
	}
	if cfg.MAC == nil {
		cfg.MAC = net.HardwareAddr{0x58, 0xcf, 0x79, 0x00, 0x00, 0x01}
	}
	if cfg.Revision == 0 {
		cfg.Revision = 4
	}
	if cfg.Chip != espimg.ESP32S3 {
		cfg.Chip = espimg.ESP32C3
	}
	e := &ESPBoard{cfg: cfg, flash: bytes.Repeat([]byte{0xFF}, cfg.FlashSize)}
	e.efuse.init(cfg.Chip, cfg.MAC, cfg.Revision)
	e.setBaudLocked(cfg.Baud)
	if cfg.RunAtStart {
		e.bootLocked()
	}
	return e
}

func (e *ESPBoard) logf(format string, a ...any) {
	if e.cfg.Log != nil {
		fmt.Fprintf(e.cfg.Log, e.romName()+": "+format+"\n", a...)
	}
}

func (e *ESPBoard) setBaudLocked(baud int) {
	e.baud = baud
	e.byteTime = 0
	if baud > 0 {
		e.byteTime = time.Second * 10 / time.Duration(baud)
	}
}

// Baud returns the UART's current speed (0: unpaced).
func (e *ESPBoard) Baud() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.baud
}

// FlashContents returns a copy of size bytes of flash at off.
func (e *ESPBoard) FlashContents(off, size int) []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]byte(nil), e.flash[off:off+size]...)
}

// FlashWrites counts the flash writes and erases so far.
func (e *ESPBoard) FlashWrites() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.writes
}

// LastBoot returns the outcome of the latest boot from flash, and how many
// boots there were.
func (e *ESPBoard) LastBoot() (ESPBoot, int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lastBoot, e.boots
}

// Running reports whether an app runs (rather than the ROM loader or a
// halted boot).
func (e *ESPBoard) Running() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.mode == espRunning
}

// InDownloadMode reports whether the ROM loader is listening.
func (e *ESPBoard) InDownloadMode() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.mode == espDownload
}

// PowerCycle removes power and restores it: the flash and eFuses stay, a
// write in progress is lost, and the chip boots from flash, or into
// download mode when download is true (BOOT held).
func (e *ESPBoard) PowerCycle(download bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.resetLocked(download)
}

func (e *ESPBoard) resetLocked(download bool) {
	e.abortWriteLocked()
	e.setBaudLocked(e.cfg.Baud)
	e.sdm = e.efuse.secureDownload()
	if download {
		e.mode = espDownload
		e.printLocked("ESP-ROM:" + e.romName() + "\r\nrst:0x1 (POWERON),boot:0x5 (DOWNLOAD(USB/UART0))\r\nwaiting for download\r\n")
		e.logf("reset into download mode")
		return
	}
	e.bootLocked()
}

// SetLines drives the modem lines as a host's DTR and RTS. With a classic
// auto-reset circuit, RTS alone holds EN low (reset) and DTR alone holds
// BOOT low; when EN rises the chip samples BOOT. The USB-Serial-JTAG
// peripheral instead latches "download" when DTR is set and resets on RTS.
func (e *ESPBoard) SetLines(dtr, rts bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	prev := e.lines
	now := time.Now()
	e.lines.dtr, e.lines.rts = dtr, rts
	e.history = append(e.history, lineLevel{at: now, dtr: dtr, rts: rts})
	if len(e.history) > 16 {
		e.history = append(e.history[:0], e.history[len(e.history)-16:]...)
	}
	if e.cfg.USBJTAG {
		if dtr && !rts {
			e.lines.bootLatched = true
		}
		if prev.rts && !rts { // end of the reset pulse
			download := e.lines.bootLatched
			e.lines.bootLatched = false
			e.resetLocked(download)
		}
		return
	}
	enLow := func(d, r bool) bool { return r && !d }
	switch {
	case enLow(dtr, rts):
		e.abortWriteLocked()
		e.mode = espHalted
		e.resetGen++ // cancels a pending boot
	case enLow(prev.dtr, prev.rts):
		// EN rises through its RC delay: the chip samples BOOT a moment
		// later, so a host that changes the lines one at a time (RTS then
		// DTR) still gets the BOOT level it meant.
		e.resetGen++
		gen, sample := e.resetGen, now.Add(espStrapDelay)
		time.AfterFunc(espStrapDelay, func() {
			e.mu.Lock()
			defer e.mu.Unlock()
			dtr, rts := e.levelsAt(sample)
			if e.resetGen == gen && !enLow(dtr, rts) {
				e.resetLocked(dtr && !rts)
			}
		})
	}
}

// lineLevel is the modem lines' levels from a moment on.
type lineLevel struct {
	at       time.Time
	dtr, rts bool
}

// levelsAt returns the lines' levels at t: those of the last change made
// at or before t.
func (e *ESPBoard) levelsAt(t time.Time) (dtr, rts bool) {
	dtr, rts = e.lines.dtr, e.lines.rts
	for i := len(e.history) - 1; i >= 0; i-- {
		if !e.history[i].at.After(t) {
			return e.history[i].dtr, e.history[i].rts
		}
	}
	return dtr, rts
}

// espStrapDelay is how long after EN is released the chip samples its
// strapping pins (the EN pin's RC delay on a typical board).
const espStrapDelay = 5 * time.Millisecond

// espLine is the host on the UART.
type espLine struct {
	w      io.Writer
	cancel context.CancelCauseFunc
	out    chan []byte
}

// printLocked sends text (a boot log) to the host, if one is attached.
func (e *ESPBoard) printLocked(s string) {
	if e.tx != nil {
		select {
		case e.tx.out <- []byte(s):
		default:
		}
	}
}

// Serve connects host to the board's UART until ctx is done, host fails,
// or another Serve takes over (ErrReplaced). Both directions are paced at
// the board's current baud rate. A pulled link (host failing) leaves the
// chip as it is: a write in progress stays half done.
func (e *ESPBoard) Serve(ctx context.Context, host io.ReadWriter) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	l := &espLine{w: host, cancel: cancel, out: make(chan []byte, 256)}
	e.mu.Lock()
	if e.tx != nil {
		e.tx.cancel(ErrReplaced)
	}
	e.tx = l
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		if e.tx == l {
			e.tx = nil
		}
		e.mu.Unlock()
	}()

	type chunk struct {
		b  []byte
		at time.Time
	}
	raw := make(chan chunk, 256)
	errc := make(chan error, 2)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := host.Read(buf)
			if n > 0 {
				select {
				case raw <- chunk{append([]byte(nil), buf[:n]...), time.Now()}:
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				errc <- err
				return
			}
		}
	}()
	go func() { // transmitter: paced writes of answers and logs
		for {
			select {
			case b := <-l.out:
				e.mu.Lock()
				bt := e.byteTime
				e.mu.Unlock()
				end := time.Now().Add(time.Duration(len(b)) * bt)
				if bt > 0 && !sleepUntil(ctx, end) {
					return
				}
				if _, err := host.Write(b); err != nil {
					errc <- err
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()

	var dec esprom.Decoder
	var free time.Time
	for {
		var c chunk
		select {
		case c = <-raw:
		case err := <-errc:
			e.logf("link lost: %v", err)
			return err
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		e.mu.Lock()
		bt := e.byteTime
		e.mu.Unlock()
		start := c.at
		if free.After(start) {
			start = free
		}
		free = start.Add(time.Duration(len(c.b)) * bt)
		if bt > 0 && !sleepUntil(ctx, free) {
			return context.Cause(ctx)
		}
		dec.Feed(c.b, func(f []byte) {
			answer, after := e.handle(f)
			if answer != nil {
				n := 1
				if answer[1] == esprom.OpSync {
					n = 8 // the ROM answers one SYNC eight times
				}
				for range n {
					select {
					case l.out <- esprom.AppendSLIP(nil, answer):
					case <-ctx.Done():
					}
				}
			}
			if after != nil {
				// Wait until the answer is on the wire, then act (a baud
				// change or a reboot).
				for len(l.out) > 0 && ctx.Err() == nil {
					time.Sleep(100 * time.Microsecond)
				}
				e.mu.Lock()
				bt := e.byteTime
				e.mu.Unlock()
				sleepUntil(ctx, time.Now().Add(time.Duration(len(answer)+4)*bt))
				e.mu.Lock()
				after()
				e.mu.Unlock()
			}
		})
	}
}

// romName is the simulated chip's ROM as its banner names it.
func (e *ESPBoard) romName() string {
	if e.cfg.Chip == espimg.ESP32S3 {
		return "esp32s3-20210327"
	}
	return "esp32c3-api1-20210207"
}
