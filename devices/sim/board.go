package sim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
)

// Defaults of Config.
const (
	DefaultSlotSize   = 512 << 10
	DefaultSectorSize = 4 << 10
	DefaultAlign      = 8
	DefaultBufSize    = 2048
	DefaultBufCount   = 4
	DefaultName       = "trustforge-sim"
)

// Config describes a simulated board. The zero value is a board with two
// 512 KiB slots of 4 KiB sectors and 8-byte writes in memory, no boot key
// (any image with a valid hash boots), no encryption key, an unpaced UART,
// and four 2 KiB SMP buffers.
type Config struct {
	// SlotSize is the size of each of the two slots. Zero means
	// DefaultSlotSize. It must be a multiple of SectorSize.
	SlotSize int
	// SectorSize is the flash erase unit. Zero means DefaultSectorSize.
	SectorSize int
	// Align is the flash write alignment: 1, 2, 4, 8 or 16. Zero means 8.
	Align int
	// FlashFile keeps the flash in that file, created when missing. Empty
	// keeps it in memory: a power cycle keeps it, a new Board does not.
	FlashFile string

	// BootKeys are the signing keys the bootloader trusts. None means an
	// unprovisioned board: any image with a valid hash boots.
	BootKeys []*keys.PublicKey
	// EncKey is the board's image decryption key (X25519 or P-256). Nil
	// means the board cannot boot encrypted images.
	EncKey *keys.PrivateKey

	// Baud paces the UART: each byte takes 10/Baud seconds each way. Zero
	// means no pacing.
	Baud int
	// BufSize is the size of an SMP buffer, which must hold a packet with
	// its frame's length and CRC. Zero means DefaultBufSize.
	BufSize int
	// BufCount is the number of SMP buffers: requests beyond it that wait
	// to be processed are dropped. Zero means DefaultBufCount.
	BufCount int

	// ResetDelay is the time between answering a reset and resetting, on
	// top of sending the answer. Zero resets as soon as the answer is out.
	ResetDelay time.Duration
	// BootTime is how long a reset or power-on takes before the board
	// answers again. Zero means at once.
	BootTime time.Duration

	// Name is the node name the OS info command reports. Empty means
	// DefaultName.
	Name string
	// Provisioning is the board's identity and provisioning storage (SMP
	// group 64, see provision.go).
	Provisioning ProvisionConfig
	// Log, if not nil, receives the simulator's own record of events
	// (boots, faults, dropped frames), apart from the board's console.
	Log io.Writer
}

func (c *Config) normalize() error {
	if c.SlotSize == 0 {
		c.SlotSize = DefaultSlotSize
	}
	if c.SectorSize == 0 {
		c.SectorSize = DefaultSectorSize
	}
	if c.Align == 0 {
		c.Align = DefaultAlign
	}
	switch c.Align {
	case 1, 2, 4, 8, 16:
	default:
		return fmt.Errorf("sim: write alignment %d (want 1, 2, 4, 8 or 16)", c.Align)
	}
	if c.SlotSize%c.SectorSize != 0 {
		return fmt.Errorf("sim: slot size %#x is not a multiple of the %#x-byte sector", c.SlotSize, c.SectorSize)
	}
	if c.BufSize == 0 {
		c.BufSize = DefaultBufSize
	}
	if c.BufSize < 128 {
		return fmt.Errorf("sim: SMP buffer of %d bytes is too small", c.BufSize)
	}
	if c.BufCount == 0 {
		c.BufCount = DefaultBufCount
	}
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.Baud < 0 {
		return fmt.Errorf("sim: baud rate %d", c.Baud)
	}
	for _, k := range c.BootKeys {
		if !k.Algorithm().CanSign() {
			return fmt.Errorf("sim: boot key %s cannot verify signatures", k.Algorithm())
		}
	}
	if c.EncKey != nil && !c.EncKey.Algorithm().CanEncrypt() {
		return fmt.Errorf("sim: encryption key %s cannot decrypt images", c.EncKey.Algorithm())
	}
	return nil
}

// Running describes what the board runs.
type Running struct {
	// Recovery is true when no valid image is in the primary slot and the
	// board answers as MCUboot serial recovery.
	Recovery bool
	Version  mcuimg.Version
	Hash     []byte // the SHA256 TLV of the running image
	// Confirmed is false while a test image runs that has not been
	// confirmed: the next reset reverts it.
	Confirmed bool
	// Boots counts the boots since the Board was made.
	Boots int
}

// Board is a simulated board. Its methods may be called from several
// goroutines.
type Board struct {
	cfg      Config
	byteTime time.Duration

	mu        sync.Mutex
	flash     *Flash
	primary   *slot
	secondary *slot
	meta      int // flash offset of the security counter sector
	running   Running
	bootLog   []string
	powered   bool
	gen       int // bumped at every reset and power loss
	upload    uploadSession
	prov      *provState // provisioning storage
	faults    faults
	line      *line     // the attached host, or nil
	txFree    time.Time // when the transmitter has sent all it was given
	rxFree    time.Time // when the receiver has taken all the host sent
	timers    []*time.Timer

	rxq    chan queued // packets waiting for the SMP server
	closed chan struct{}
	wg     sync.WaitGroup
}

type queued struct {
	pkt []byte
	gen int
}

// New makes a board, opens its flash and powers it on: the bootloader runs
// and the application, or serial recovery, starts answering.
func New(cfg Config) (*Board, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	b := &Board{cfg: cfg, rxq: make(chan queued, cfg.BufCount), closed: make(chan struct{})}
	prov, err := openProvision(&b.cfg.Provisioning)
	if err != nil {
		return nil, err
	}
	b.prov = prov
	if cfg.Baud > 0 {
		b.byteTime = time.Duration(10 * float64(time.Second) / float64(cfg.Baud))
	}
	f, err := OpenFlash(cfg.FlashFile, 2*cfg.SlotSize+cfg.SectorSize, cfg.SectorSize, cfg.Align)
	if err != nil {
		return nil, err
	}
	b.flash = f
	if b.primary, err = newSlot(f, 0, cfg.SlotSize); err != nil {
		f.Close()
		return nil, err
	}
	b.secondary, _ = newSlot(f, cfg.SlotSize, cfg.SlotSize)
	b.meta = 2 * cfg.SlotSize
	b.disarmLocked()
	b.wg.Add(1)
	go b.serveSMP()
	b.mu.Lock()
	b.powerOnLocked()
	b.mu.Unlock()
	return b, nil
}

// Close stops the board and closes its flash file. An attached host is
// detached.
func (b *Board) Close() error {
	b.mu.Lock()
	select {
	case <-b.closed:
		b.mu.Unlock()
		return nil
	default:
	}
	close(b.closed)
	for _, t := range b.timers {
		t.Stop()
	}
	if b.line != nil {
		b.line.cancel(ErrClosed)
	}
	b.powered = false
	b.mu.Unlock()
	b.wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flash.Close()
}

// Config returns the board's configuration, defaults filled in.
func (b *Board) Config() Config { return b.cfg }

// Running returns what the board runs now.
func (b *Board) Running() Running {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.running
	r.Hash = append([]byte(nil), r.Hash...)
	return r
}

// BootLog returns the console lines of the last boot.
func (b *Board) BootLog() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.bootLog...)
}

// Powered reports whether the board is on and answering.
func (b *Board) Powered() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.powered
}

// Program writes img into the primary slot, as a debug probe flashing a
// factory image does, and resets the board. The image is not checked: the
// bootloader does that.
func (b *Board) Program(img []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.primary.program(img); err != nil {
		return err
	}
	if err := b.primary.eraseTrailer(); err != nil {
		return err
	}
	b.resetLocked(0)
	return nil
}

// Reset presses the reset button: the board restarts at once, losing what it
// held in RAM.
func (b *Board) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.resetLocked(0)
}

// resetLocked restarts the board after off (plus the boot time).
func (b *Board) resetLocked(off time.Duration) {
	b.powered = false
	b.gen++
	b.upload = uploadSession{}
	d := off + b.cfg.BootTime
	if d <= 0 {
		b.powerOnLocked()
		return
	}
	gen := b.gen
	b.afterLocked(d, func() {
		if b.gen == gen && !b.powered {
			b.powerOnLocked()
		}
	})
}

// afterLocked runs f with b.mu held after d, unless the board is closed.
func (b *Board) afterLocked(d time.Duration, f func()) {
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		select {
		case <-b.closed:
			return
		default:
		}
		f()
	})
	// Timers check b.closed when they fire, so only recent ones need
	// keeping to stop them early.
	b.timers = append(b.timers, t)
	if len(b.timers) > 64 {
		b.timers = append([]*time.Timer(nil), b.timers[len(b.timers)-32:]...)
	}
}

// powerOnLocked runs the bootloader and starts the application.
func (b *Board) powerOnLocked() {
	b.gen++
	b.upload = uploadSession{}
	b.bootLog = b.bootLocked()
	b.powered = true
	for _, l := range b.bootLog {
		b.sendLocked([]byte(l+"\r\n"), false)
	}
	b.logf("boot %d: %s", b.running.Boots, b.runningString())
}

func (b *Board) runningString() string {
	if b.running.Recovery {
		return "serial recovery (no valid image)"
	}
	s := fmt.Sprintf("running %s", b.running.Version)
	if !b.running.Confirmed {
		s += " (test, not confirmed)"
	}
	return s
}

func (b *Board) logf(format string, args ...any) {
	if b.cfg.Log != nil {
		fmt.Fprintf(b.cfg.Log, "sim: "+format+"\n", args...)
	}
}

// Security counter storage: a sector after the slots, standing for the
// hardware counter MCUboot keeps.
var counterMagic = [8]byte{'T', 'F', 'S', 'E', 'C', 'C', 'N', 'T'}

func (b *Board) securityCounterLocked() uint32 {
	v := b.flash.view(b.meta, 12)
	if [8]byte(v[:8]) != counterMagic {
		return 0
	}
	return binary.LittleEndian.Uint32(v[8:])
}

func (b *Board) setSecurityCounterLocked(n uint32) error {
	if err := b.flash.Erase(b.meta, b.cfg.SectorSize); err != nil {
		return err
	}
	rec := make([]byte, alignUp(12, b.cfg.Align))
	for i := range rec {
		rec[i] = erasedByte
	}
	copy(rec, counterMagic[:])
	binary.LittleEndian.PutUint32(rec[8:], n)
	return b.flash.Write(b.meta, rec)
}

// SecurityCounter returns the board's anti-rollback counter: images with a
// lower security counter never boot.
func (b *Board) SecurityCounter() uint32 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.securityCounterLocked()
}

// ErrClosed is returned by Serve once the board is closed.
var ErrClosed = errors.New("sim: board closed")
