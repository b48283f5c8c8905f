package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"trustforge/crypto/mcuimg"
	"trustforge/crypto/mcuimg/ihex"
	"trustforge/devices/dfu"
	"trustforge/devices/dfu/usbfs"
	"trustforge/devices/sim"
)

// simBackend reaches one simulated USB device through the same interface
// the usbfs backend gives the commands.
type simBackend struct{ usb *sim.USB }

func (b simBackend) list(ctx context.Context) ([]string, error) {
	if !b.usb.Present() {
		return nil, nil
	}
	i := b.usb.Info()
	return []string{fmt.Sprintf("sim %04x:%04x", i.Device.VendorID, i.Device.ProductID)}, nil
}

func (b simBackend) open(ctx context.Context, sel string) (dfu.Control, dfu.Finder, error) {
	c, err := b.usb.Attach()
	if err != nil {
		return nil, nil, err
	}
	return c, b.usb.Find, nil
}

func dfuRun(t *testing.T, be dfuBackend, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := runDFUWith(ctx, Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}, args, be)
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		code = 2
	default:
		code = 1
	}
	if err != nil {
		fmt.Fprintln(&errOut, err)
	}
	return code, out.String(), errOut.String()
}

func dfuOK(t *testing.T, be dfuBackend, args ...string) string {
	t.Helper()
	code, out, errOut := dfuRun(t, be, args...)
	if code != 0 {
		t.Fatalf("dfu %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func writeTemp(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestDFUPackInspect(t *testing.T) {
	dir := t.TempDir()
	app := randBytes(40 << 10)
	cal := randBytes(100)
	hexFile, err := ihex.Encode(ihex.Segment{Addr: 0x08060000, Data: cal})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "fw.dfu")
	dfuOK(t, nil, "pack", "-o", out, "--vid", "0483", "--pid", "df11", "0x08000000:"+writeTemp(t, dir, "app.bin", app), writeTemp(t, dir, "cal.hex", hexFile))
	raw, _ := os.ReadFile(out)
	f, err := dfu.ParseFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !f.DfuSe() || len(f.Targets) != 1 || len(f.Targets[0].Elements) != 2 || f.VendorID != 0x0483 {
		t.Fatalf("packed file: %+v", f)
	}
	if e := f.Targets[0].Elements[1]; e.Address != 0x08060000 || !bytes.Equal(e.Data, cal) {
		t.Errorf("the HEX element is at %#x", e.Address)
	}
	got := dfuOK(t, nil, "inspect", out)
	wantContains(t, "inspect", got, "DfuSe file", "suffix CRC ok", "0483:df11", `target alt 0 "ST..."`, "0x08000000–0x0800a000  40960 bytes", "0x08060000")

	got = dfuOK(t, nil, "inspect", "../../devices/dfu/testdata/stm32f4-two-targets.dfu")
	wantContains(t, "inspect of the vector", got, "2 element(s)", "target alt 1 (unnamed)", "0x1fffc000")

	plain := filepath.Join(dir, "plain.dfu")
	dfuOK(t, nil, "pack", "--plain", "-o", plain, "--vid", "2fe3", writeTemp(t, dir, "zephyr.bin", app))
	wantContains(t, "inspect --plain", dfuOK(t, nil, "inspect", plain), "plain DFU file", "2fe3:ffff", "40960 bytes")

	for name, args := range map[string][]string{
		"no address":   {"pack", "-o", out, writeTemp(t, dir, "x.bin", app)},
		"bad address":  {"pack", "-o", out, "0xzz:" + writeTemp(t, dir, "y.bin", app)},
		"overlap":      {"pack", "-o", out, "0x08000000:" + filepath.Join(dir, "app.bin"), "0x08001000:" + filepath.Join(dir, "app.bin")},
		"bad vid":      {"pack", "-o", out, "--vid", "12345", "0x08000000:" + filepath.Join(dir, "app.bin")},
		"no output":    {"pack", "0x08000000:" + filepath.Join(dir, "app.bin")},
		"damaged file": {"inspect", writeTemp(t, dir, "bad.dfu", append(raw[:len(raw)-1:len(raw)-1], raw[len(raw)-1]^1))},
	} {
		if code, _, errOut := dfuRun(t, nil, args...); code == 0 {
			t.Errorf("%s: exit 0", name)
		} else if strings.TrimSpace(errOut) == "" {
			t.Errorf("%s: no message", name)
		}
	}
}

// TestDFUDfuSeCommands writes a .dfu file to a simulated STM32 through the
// commands' device path, reads it back, then sets RDP level 1: reads are
// refused afterwards.
func TestDFUDfuSeCommands(t *testing.T) {
	dir := t.TempDir()
	s, err := sim.NewDfuSe(sim.DfuSeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	be := simBackend{s.USB}
	wantContains(t, "list", dfuOK(t, be, "list"), "0483:df11")
	app := randBytes(70 << 10)
	file := filepath.Join(dir, "app.dfu")
	dfuOK(t, nil, "pack", "-o", file, "0x08000000:"+writeTemp(t, dir, "app.bin", app))
	got := dfuOK(t, be, "download", "--no-progress", file)
	wantContains(t, "download", got, "wrote "+file)
	if !bytes.Equal(s.Flash()[:len(app)], app) {
		t.Fatal("the flash does not hold the file")
	}
	back := filepath.Join(dir, "back.bin")
	dfuOK(t, be, "upload", "--address", "0x08000000", "--length", fmt.Sprint(len(app)), "-o", back)
	if b, _ := os.ReadFile(back); !bytes.Equal(b, app) {
		t.Fatal("upload differs from what was written")
	}
	// A raw file at an address, with progress.
	_, _, errOut := dfuRun(t, be, "download", "--address", "0x08020000", writeTemp(t, dir, "more.bin", app[:4096]))
	wantContains(t, "progress", errOut, "write @Internal Flash", "100%", "verify")

	wantContains(t, "rdp", dfuOK(t, be, "rdp"), "RDP level 0")
	if code, _, errOut := dfuRun(t, be, "rdp", "--set", "1"); code != 2 || !strings.Contains(errOut, "cannot be undone") {
		t.Fatalf("rdp --set without --yes: exit %d, %s", code, errOut)
	}
	if code, _, _ := dfuRun(t, be, "rdp", "--set", "2", "--yes"); code != 1 {
		t.Fatalf("rdp --set 2: exit %d, want refused", code)
	}
	dfuOK(t, be, "rdp", "--set", "1", "--yes")
	if s.RDP() != dfu.RDP1 {
		t.Fatalf("the part is at %v", s.RDP())
	}
	var code int
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		code, _, errOut = dfuRun(t, be, "upload", "--length", "1024", "-o", back)
		if !strings.Contains(errOut, "disconnected") {
			break
		}
	}
	if code != 1 || !strings.Contains(errOut, "errVENDOR") {
		t.Fatalf("upload at RDP 1: exit %d, %s", code, errOut)
	}
	wantContains(t, "rdp", dfuOK(t, be, "rdp"), "RDP level 1")
}

// TestDFUZephyrSlot detaches a Zephyr board into DFU mode, writes a signed
// image into image-1 and resets it: MCUboot test-boots it.
func TestDFUZephyrSlot(t *testing.T) {
	b, err := sim.New(sim.Config{SlotSize: 128 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	mk := func(v string) []byte {
		ver, _ := mcuimg.ParseVersion(v)
		img, err := mcuimg.Sign(randBytes(30<<10), &mcuimg.SignOptions{Version: ver, HeaderSize: 0x200, PadHeader: true})
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	if err := b.Program(mk("1.0.0")); err != nil {
		t.Fatal(err)
	}
	z := sim.NewZephyrDFU(b, sim.ZephyrDFUConfig{})
	be := simBackend{z.USB}
	path := writeTemp(t, t.TempDir(), "app.bin", mk("1.1.0"))
	if code, _, errOut := dfuRun(t, be, "download", "--alt", "image-9", path); code != 1 || !strings.Contains(errOut, `1 "image-1"`) {
		t.Fatalf("unknown alternate setting: exit %d, %s", code, errOut)
	}
	boots := b.Running().Boots
	got := dfuOK(t, be, "download", "--no-progress", "--alt", "image-1", "--reset", path)
	wantContains(t, "download", got, "to image-1, read back and compared", "reset")
	for deadline := time.Now().Add(30 * time.Second); b.Running().Boots <= boots; {
		if time.Now().After(deadline) {
			t.Fatal("the board did not reboot")
		}
		time.Sleep(time.Millisecond)
	}
	if r := b.Running(); r.Version.String() != "1.1.0+0" || r.Confirmed {
		t.Fatalf("the board runs %+v, want 1.1.0 in test", r)
	}
}

// TestDFUListNoUSB: with no USB devices (this machine has none), list says
// so through the real usbfs backend.
func TestDFUListNoUSB(t *testing.T) {
	be := usbfsBackend{bus: usbfs.Bus{Sysfs: filepath.Join(t.TempDir(), "no-usb")}}
	if got := dfuOK(t, be, "list"); got != "no DFU devices\n" {
		t.Fatalf("list: %q", got)
	}
	if code, _, errOut := dfuRun(t, be, "rdp"); code != 1 || !strings.Contains(errOut, "no DFU device found") {
		t.Fatalf("rdp with no device: exit %d, %s", code, errOut)
	}
}
