package station

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"trustforge/crypto/mcuimg"
	"trustforge/crypto/production"
	"trustforge/devices/dfu"
	"trustforge/devices/sim"
	"trustforge/devices/smp"
	"trustforge/wasm/updateflow"
)

// usbBench is a simulated USB DFU device on a cable, as the console's
// WebUSB link reaches it: the DFULink of a station's DFU board. The
// application's SMP interface, when the board runs one, is the simulated
// board's SMP server.
type usbBench struct {
	usb   *sim.USB
	board *sim.Board // nil for a DfuSe bootloader

	mu    sync.Mutex
	stops []func()
}

func newUSBBench(t testing.TB, u *sim.USB, b *sim.Board) *usbBench {
	ub := &usbBench{usb: u, board: b}
	t.Cleanup(ub.stop)
	return ub
}

func (ub *usbBench) stop() {
	ub.mu.Lock()
	stops := ub.stops
	ub.stops = nil
	ub.mu.Unlock()
	for _, s := range stops {
		s()
	}
}

func (ub *usbBench) DFU(ctx context.Context) (dfu.Control, *dfu.Description, error) {
	c, err := ub.usb.Find(ctx)
	if err != nil {
		return nil, nil, err
	}
	return dfu.EnterDFU(ctx, c, ub.usb.Find)
}

func (ub *usbBench) runtime() bool {
	if ub.board == nil || !ub.usb.Present() {
		return false
	}
	for _, a := range ub.usb.Info().Alternates {
		if a.Class == 0xff {
			return true
		}
	}
	return false
}

func (ub *usbBench) App(ctx context.Context, wait bool) (*smp.Client, error) {
	for !ub.runtime() {
		if !wait {
			return nil, fmt.Errorf("%w: the device is in DFU mode", updateflow.ErrNoApp)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	// One SMP interface: an earlier connection ends before the next.
	ub.stop()
	host, dev := net.Pipe()
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ub.board.Serve(sctx, dev); dev.Close(); close(done) }()
	c := smp.NewClient(smp.FromStream(host), &smp.Options{Timeout: 5 * time.Second})
	ub.mu.Lock()
	ub.stops = append(ub.stops, func() { cancel(); host.Close(); <-done; c.Close() })
	ub.mu.Unlock()
	return c, nil
}

// zephyrBoard is a simulated Zephyr board with the USB DFU class running a
// factory image 0.0.1, presented to the station with serial number serial.
//
// Its provisioning id is its serial number, as Zephyr makes both from the
// chip's unique id.
func zephyrBoard(t testing.TB, serial string, cfg sim.ZephyrDFUConfig) (*sim.Board, *sim.ZephyrDFU, DFUBoard) {
	t.Helper()
	uid, _ := hex.DecodeString(serial)
	b, err := sim.New(sim.Config{SlotSize: 128 << 10, Provisioning: sim.ProvisionConfig{UID: uid}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	img, err := mcuimg.Sign(bytes.Repeat([]byte("factory test "), 100), &mcuimg.SignOptions{Version: mcuimg.Version{Revision: 1}, PadHeader: true, HeaderSize: 0x200})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Program(img); err != nil {
		t.Fatal(err)
	}
	cfg.Serial = serial
	z := sim.NewZephyrDFU(b, cfg)
	return b, z, DFUBoard{Label: "Zephyr " + serial, Serial: serial, Link: newUSBBench(t, z.USB, b)}
}

// stm32Board is a simulated STM32 DfuSe bootloader with a blank flash.
func stm32Board(t testing.TB, serial string) (*sim.DfuSe, DFUBoard) {
	t.Helper()
	s, err := sim.NewDfuSe(sim.DfuSeConfig{Serial: serial})
	if err != nil {
		t.Fatal(err)
	}
	return s, DFUBoard{Label: "STM32 " + serial, Serial: serial, DfuSe: true, Link: newUSBBench(t, s.USB, nil)}
}

// stepDetail returns the detail of r's last step named name.
func stepDetail(r *Result, name string) string {
	for i := len(r.Steps) - 1; i >= 0; i-- {
		if r.Steps[i].Name == name {
			return r.Steps[i].Detail
		}
	}
	return ""
}

func stepList(r *Result) string {
	var names []string
	for _, s := range r.Steps {
		names = append(names, s.Name)
	}
	return strings.Join(names, ",")
}

// TestDFUBoards programs a Zephyr DFU board and an STM32 DfuSe bootloader
// from one package, each with its ticket bound to its USB serial number:
// the Zephyr board runs the release confirmed, the STM32's flash holds the
// image at its start and its application runs.
func TestDFUBoards(t *testing.T) {
	l := newLine(t, 2, production.ImageClear)
	s := l.station()
	s.BootTimeout = 20 * time.Second
	zb, _, zephyr := zephyrBoard(t, "5A0001", sim.ZephyrDFUConfig{})
	st, stm32 := stm32Board(t, "3276365F3033")
	var mu sync.Mutex
	written, totals := map[int]int64{}, map[int]int64{}
	results := s.ProgramBoards(context.Background(), nil, []DFUBoard{zephyr, stm32}, RunOptions{
		OnStep: func(i int, _ string, st Step) {
			mu.Lock()
			defer mu.Unlock()
			if st.Name == "upload" && st.Done > written[i] {
				written[i], totals[i] = st.Done, st.Total
			}
		}})
	if len(results) != 2 {
		t.Fatalf("%d results", len(results))
	}
	for i, want := range []struct{ id, steps, port string }{
		{"5a0001", "info,ticket,upload,boot,running,confirm,info,registry,key,csr,check,issue,chain,verify,bootkey,enckey,register,lock", "USB DFU 1 (Zephyr 5A0001)"},
		{"3276365f3033", "info,ticket,upload,boot", "USB DFU 2 (STM32 3276365F3033)"},
	} {
		r := results[i]
		if r.State != Done {
			t.Fatalf("board %d: %s (%s); steps %+v", i, r.State, r.Reason, r.Steps)
		}
		if r.DeviceID != want.id || r.Ticket == nil || r.Ticket.Device != want.id || r.Port != want.port {
			t.Errorf("board %d: device %q port %q ticket %+v", i, r.DeviceID, r.Port, r.Ticket)
		}
		if got := stepList(r); got != want.steps {
			t.Errorf("board %d: steps %s, want %s", i, got, want.steps)
		}
		if r.Record == nil || r.Record.Board.Node != want.id || !strings.HasPrefix(r.Record.Board.Transport, "usb-dfu") {
			t.Errorf("board %d: record %+v", i, r.Record)
		}
		if written[i] == 0 || written[i] != totals[i] || totals[i] < int64(len(l.pkg.Contents.Image)) {
			t.Errorf("board %d: progress reached %d of %d (image %d bytes)", i, written[i], totals[i], len(l.pkg.Contents.Image))
		}
	}
	// The Zephyr board got its identity as on a serial port: its
	// certificate carries its ticket; the STM32's bootloader cannot make a
	// key, so it has none.
	if len(results[0].Chain) == 0 || len(results[1].Chain) != 0 {
		t.Errorf("chains: Zephyr %d certificates, STM32 %d", len(results[0].Chain), len(results[1].Chain))
	} else if st, ok, err := production.TicketOf(results[0].Chain[0]); !ok || err != nil {
		t.Errorf("the Zephyr board's certificate carries no ticket (%v)", err)
	} else if tk, err := st.Verify(l.ticketKey.Public().Crypto()); err != nil || tk.ID != results[0].Ticket.ID || tk.Device != "5a0001" {
		t.Errorf("the Zephyr board's certificate carries ticket %+v (%v), want %s", tk, err, results[0].Ticket.ID)
	}
	if p := zb.Provisioning(); !p.Locked || p.Chain == nil {
		t.Errorf("the Zephyr board is not provisioned and locked: %+v", p)
	}
	if d := stepDetail(results[1], "upload"); !strings.Contains(d, "read back and compared: identical") {
		t.Errorf("STM32 upload: %q", d)
	}
	if run := zb.Running(); run.Version != (mcuimg.Version{Major: 1, Minor: 4}) || !run.Confirmed {
		t.Errorf("the Zephyr board runs %+v", run)
	}
	img := l.pkg.Contents.Image
	if got, err := zb.ReadSlot(0, len(img)); err != nil || !bytes.Equal(got, img) {
		t.Errorf("the Zephyr board's primary slot does not hold the image (%v)", err)
	}
	if !bytes.Equal(st.Flash()[:len(img)], img) {
		t.Error("the STM32's flash does not hold the image")
	}
	eventually(t, "the STM32's application runs", st.AppRunning)
	if len(l.tickets.issued) != 2 {
		t.Errorf("%d tickets issued", len(l.tickets.issued))
	}
	if c := s.Counts(); c.Done != 2 || c.Failed != 0 || c.Refused != 0 || c.Remaining != 0 {
		t.Errorf("counts %+v", c)
	}
}

// TestDFUReadOutProtection: a package asking for RDP level 1 programs no
// STM32 until the operator confirmed it (no ticket taken, nothing
// written); once confirmed, the image is written, read back, and the part
// set to level 1, after which its bootloader refuses reads.
func TestDFUReadOutProtection(t *testing.T) {
	l := newLineWith(t, 2, production.ImageClear, production.DFU{ReadOutProtection: true, Address: 0x08004000})
	s := l.station()
	st, stm32 := stm32Board(t, "3276365F3034")
	r := s.ProgramDFU(context.Background(), stm32, "usb", nil)
	if r.State != Refused || !strings.Contains(r.Reason, "cannot be undone") || !strings.Contains(r.Reason, "nothing was written") {
		t.Fatalf("unconfirmed: %s (%s)", r.State, r.Reason)
	}
	if len(l.tickets.issued) != 0 || st.RDP() != dfu.RDP0 || !bytes.Equal(st.Flash()[0x4000:0x4010], bytes.Repeat([]byte{0xff}, 16)) {
		t.Fatal("a board refused before confirmation was touched")
	}

	s.ReadOutProtection = true
	r = s.ProgramDFU(context.Background(), stm32, "usb", nil)
	if r.State != Done {
		t.Fatalf("confirmed: %s (%s); steps %+v", r.State, r.Reason, r.Steps)
	}
	if got, want := stepList(r), "info,ticket,upload,protect"; got != want {
		t.Errorf("steps %s, want %s", got, want)
	}
	if st.RDP() != dfu.RDP1 {
		t.Errorf("the part is at %v", st.RDP())
	}
	img := l.pkg.Contents.Image
	if !bytes.Equal(st.Flash()[0x4000:0x4000+len(img)], img) {
		t.Error("the flash does not hold the image at 0x08004000")
	}
	if d := stepDetail(r, "protect"); !strings.Contains(d, "RDP level 1") || !strings.Contains(d, "refuses to read") {
		t.Errorf("protect: %q", d)
	}
	// The protected part is refused before anything is written.
	r = s.ProgramDFU(context.Background(), stm32, "usb", nil)
	if r.State != Refused || !strings.Contains(r.Reason, "RDP level 1") {
		t.Errorf("a protected part: %s (%s)", r.State, r.Reason)
	}
	if len(l.tickets.issued) != 1 {
		t.Errorf("%d tickets issued, want 1", len(l.tickets.issued))
	}
}

// TestDFURefusals: boards the station cannot program are refused with
// nothing written and no ticket taken.
func TestDFURefusals(t *testing.T) {
	tests := []struct {
		name   string
		mode   production.ImageMode
		serial string
		want   string
	}{
		{"serial number not hex", production.ImageClear, "ST-0001", "not a hardware id"},
		{"image for each board's key", production.ImageDevice, "3276365F3037", "each board's own key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLine(t, 2, tt.mode)
			s := l.station()
			st, stm32 := stm32Board(t, tt.serial)
			r := s.ProgramDFU(context.Background(), stm32, "usb", nil)
			if r.State != Refused || !strings.Contains(r.Reason, tt.want) || !strings.Contains(r.Reason, "nothing was written") {
				t.Errorf("%s (%s), want refused: %s", r.State, r.Reason, tt.want)
			}
			if len(l.tickets.issued) != 0 || !bytes.Equal(st.Flash()[:64], bytes.Repeat([]byte{0xff}, 64)) {
				t.Error("a refused board was touched")
			}
		})
	}
	// A board that already runs the release is refused at the check.
	l := newLine(t, 3, production.ImageClear)
	s := l.station()
	s.BootTimeout = 20 * time.Second
	_, _, zephyr := zephyrBoard(t, "5a0003", sim.ZephyrDFUConfig{})
	if r := s.ProgramDFU(context.Background(), zephyr, "usb", nil); r.State != Done {
		t.Fatalf("first run: %s (%s)", r.State, r.Reason)
	}
	r := s.ProgramDFU(context.Background(), zephyr, "usb", nil)
	if r.State != Refused || !strings.Contains(r.Reason, "already provisioned and locked") || !strings.Contains(r.Reason, "nothing was written") {
		t.Errorf("the same board again: %s (%s)", r.State, r.Reason)
	}
	if len(l.tickets.issued) != 1 {
		t.Errorf("%d tickets issued, want 1", len(l.tickets.issued))
	}
}

// TestDFUUnpluggedMidWrite pulls a Zephyr board's cable half way through
// its download: the station reports it, the board still boots its
// factory image, and once plugged back the download starts again and the
// board ends up running the release, confirmed, under its one ticket.
func TestDFUUnpluggedMidWrite(t *testing.T) {
	l := newLine(t, 2, production.ImageClear)
	s := l.station()
	s.BootTimeout = 20 * time.Second
	zb, z, zephyr := zephyrBoard(t, "5a0004", sim.ZephyrDFUConfig{WriteTime: 5 * time.Millisecond})
	var once sync.Once
	replugged := make(chan struct{})
	var unplugged []string
	var mu sync.Mutex
	r := s.ProgramDFU(context.Background(), zephyr, "usb", func(st Step) {
		if st.Name != "upload" {
			return
		}
		if st.Unplugged {
			mu.Lock()
			unplugged = append(unplugged, st.Detail)
			mu.Unlock()
			return
		}
		if st.Total > 0 && st.Done > st.Total/2 {
			once.Do(func() {
				z.USB.Unplug()
				go func() {
					defer close(replugged)
					// Unplugged, the board keeps its confirmed image.
					if run := zb.Running(); run.Version.Major != 0 || !run.Confirmed {
						t.Errorf("unplugged, the board runs %+v", run)
					}
					time.Sleep(50 * time.Millisecond) // a person plugging it back
					z.USB.Plug()
				}()
			})
		}
	})
	<-replugged
	if r.State != Done {
		t.Fatalf("%s (%s); steps %+v", r.State, r.Reason, r.Steps)
	}
	if len(unplugged) == 0 || !strings.Contains(unplugged[0], "plug it back in") {
		t.Errorf("the unplug was reported as %q", unplugged)
	}
	if d := stepDetail(r, "upload"); !strings.Contains(d, "written again from the start 1 time(s)") {
		t.Errorf("upload: %q", d)
	}
	if run := zb.Running(); run.Version != (mcuimg.Version{Major: 1, Minor: 4}) || !run.Confirmed {
		t.Errorf("the board runs %+v", run)
	}
	if len(l.tickets.issued) != 1 {
		t.Errorf("%d tickets issued, want 1", len(l.tickets.issued))
	}
}

// TestDFUUnpluggedForGood: a board that never comes back fails when the
// run is stopped, and plugged in later still boots its factory image.
func TestDFUUnpluggedForGood(t *testing.T) {
	l := newLine(t, 2, production.ImageClear)
	s := l.station()
	zb, z, zephyr := zephyrBoard(t, "5a0005", sim.ZephyrDFUConfig{WriteTime: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	r := s.ProgramDFU(ctx, zephyr, "usb", func(st Step) {
		if st.Unplugged {
			cancel() // the operator stops the run
		}
		if st.Name == "upload" && st.Total > 0 && st.Done > st.Total/2 {
			once.Do(z.USB.Unplug)
		}
	})
	if r.State != Failed {
		t.Fatalf("%s (%s)", r.State, r.Reason)
	}
	z.USB.Plug()
	if run := zb.Running(); run.Recovery || run.Version.Major != 0 || !run.Confirmed {
		t.Errorf("plugged back, the board runs %+v: want its factory image, confirmed", run)
	}
	if p := zb.Provisioning(); p.Locked || p.Chain != nil {
		t.Errorf("the failed board was provisioned: %+v", p)
	}
	// Presented again, it is programmed, under a ticket for the same
	// device (the release server hands out the same one again).
	s.BootTimeout = 20 * time.Second
	r2 := s.ProgramDFU(context.Background(), zephyr, "usb", nil)
	if r2.State != Done {
		t.Fatalf("the retry: %s (%s)", r2.State, r2.Reason)
	}
	if r.Ticket == nil || r2.Ticket == nil || r2.Ticket.Device != r.Ticket.Device {
		t.Errorf("the retry took ticket %+v, the first run %+v", r2.Ticket, r.Ticket)
	}
	if run := zb.Running(); run.Version != (mcuimg.Version{Major: 1, Minor: 4}) || !run.Confirmed {
		t.Errorf("after the retry the board runs %+v", run)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: never", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDFUSTM32UnpluggedMidWrite pulls an STM32's cable half way through
// its write: its bootloader, in ROM, enumerates again when plugged back,
// and the write starts again from the start and is read back whole.
func TestDFUSTM32UnpluggedMidWrite(t *testing.T) {
	l := newLine(t, 1, production.ImageClear)
	s := l.station()
	st, err := sim.NewDfuSe(sim.DfuSeConfig{Serial: "3276365F3035", WriteTime: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	b := DFUBoard{Label: "STM32", Serial: "3276365F3035", DfuSe: true, Link: newUSBBench(t, st.USB, nil)}
	var once sync.Once
	replugged := make(chan struct{})
	var reported bool
	r := s.ProgramDFU(context.Background(), b, "usb", func(step Step) {
		if step.Unplugged {
			reported = true
		}
		if step.Name == "upload" && step.Total > 0 && step.Done > step.Total*3/4 {
			once.Do(func() {
				st.USB.Unplug()
				go func() {
					defer close(replugged)
					time.Sleep(50 * time.Millisecond) // a person plugging it back
					st.USB.Plug()
				}()
			})
		}
	})
	<-replugged
	if r.State != Done || !reported {
		t.Fatalf("%s (%s), unplug reported %v; steps %+v", r.State, r.Reason, reported, r.Steps)
	}
	if d := stepDetail(r, "upload"); !strings.Contains(d, "written again from the start 1 time(s)") || !strings.Contains(d, "read back and compared") {
		t.Errorf("upload: %q", d)
	}
	img := l.pkg.Contents.Image
	if !bytes.Equal(st.Flash()[:len(img)], img) {
		t.Error("the flash does not hold the image")
	}
}

// TestDFUNoOptionBytes: a package asking for read-out protection refuses,
// before its ticket and with nothing written, an STM32 whose bootloader
// lists no option bytes memory to set it in.
func TestDFUNoOptionBytes(t *testing.T) {
	l := newLineWith(t, 1, production.ImageClear, production.DFU{ReadOutProtection: true})
	s := l.station()
	s.ReadOutProtection = true
	st, err := sim.NewDfuSe(sim.DfuSeConfig{Serial: "3276365F3036", NoOptionBytes: true})
	if err != nil {
		t.Fatal(err)
	}
	b := DFUBoard{Label: "STM32", Serial: "3276365F3036", DfuSe: true, Link: newUSBBench(t, st.USB, nil)}
	r := s.ProgramDFU(context.Background(), b, "usb", nil)
	if r.State != Refused || !strings.Contains(r.Reason, "no option bytes") || !strings.Contains(r.Reason, "nothing was written") {
		t.Fatalf("%s (%s)", r.State, r.Reason)
	}
	if len(l.tickets.issued) != 0 || !bytes.Equal(st.Flash()[:64], bytes.Repeat([]byte{0xff}, 64)) {
		t.Error("a refused part was touched")
	}
	// Without protection asked for, the same part is programmed.
	l2 := newLine(t, 1, production.ImageClear)
	if r := l2.station().ProgramDFU(context.Background(), b, "usb", nil); r.State != Done {
		t.Errorf("without protection: %s (%s)", r.State, r.Reason)
	}
}

// TestDFUZephyrDeviceImage: in "device" image mode a Zephyr DFU board is
// provisioned first, and its copy of the image, encrypted to the key it
// made, goes into its slot; MCUboot decrypts it as it swaps.
func TestDFUZephyrDeviceImage(t *testing.T) {
	l := newLine(t, 1, production.ImageDevice)
	s := l.station()
	s.BootTimeout = 20 * time.Second
	zb, _, zephyr := zephyrBoard(t, "5a0006", sim.ZephyrDFUConfig{})
	r := s.ProgramDFU(context.Background(), zephyr, "usb", nil)
	if r.State != Done {
		t.Fatalf("%s (%s); steps %+v", r.State, r.Reason, r.Steps)
	}
	if got := stepList(r); !strings.Contains(got, ",enckey,") || !strings.Contains(got, ",prepare,upload,") {
		t.Errorf("steps %s", got)
	}
	if run := zb.Running(); run.Version != (mcuimg.Version{Major: 1, Minor: 4}) || !run.Confirmed {
		t.Errorf("the board runs %+v", run)
	}
	// The primary slot holds the plaintext MCUboot decrypted as it swapped.
	img := l.pkg.Contents.Image
	if got, err := zb.ReadSlot(0, len(img)); err != nil || !bytes.Equal(got[0x200:len(img)-0x200], img[0x200:len(img)-0x200]) {
		t.Errorf("the primary slot does not hold the decrypted image (%v)", err)
	}
}

// TestDFUClone: a fresh Zephyr board whose device id the registry holds
// already is refused before its ticket, with nothing written.
func TestDFUClone(t *testing.T) {
	l := newLine(t, 2, production.ImageClear)
	s := l.station()
	s.BootTimeout = 20 * time.Second
	_, _, first := zephyrBoard(t, "5a0007", sim.ZephyrDFUConfig{})
	if r := s.ProgramDFU(context.Background(), first, "usb", nil); r.State != Done {
		t.Fatalf("the first board: %s (%s)", r.State, r.Reason)
	}
	zb, _, clone := zephyrBoard(t, "5a0007", sim.ZephyrDFUConfig{})
	r := s.ProgramDFU(context.Background(), clone, "usb", nil)
	if r.State != Refused || !strings.Contains(r.Reason, "clone") || !strings.Contains(r.Reason, "nothing was written") {
		t.Fatalf("the clone: %s (%s)", r.State, r.Reason)
	}
	if len(l.tickets.issued) != 1 || zb.Running().Version.Major != 0 {
		t.Error("the clone was touched")
	}
}
