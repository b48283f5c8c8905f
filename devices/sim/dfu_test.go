package sim

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"trustforge/devices/dfu"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func altNamed(t *testing.T, desc *dfu.Description, name string) dfu.AltSetting {
	t.Helper()
	for _, a := range desc.Alternates {
		if a.Name == name {
			return a
		}
	}
	t.Fatalf("no alternate setting %q in %+v", name, desc.Alternates)
	return dfu.AltSetting{}
}

// TestZephyrDFUTestBoot writes a new image into slot 1 through the DFU
// class: detach into DFU mode, download into image-1, read it back, reset;
// MCUboot test-boots it, and it is confirmed over SMP.
func TestZephyrDFUTestBoot(t *testing.T) {
	ctx := testCtx(t)
	b, _ := provisioned(t, Config{SlotSize: 128 << 10})
	z := NewZephyrDFU(b, ZephyrDFUConfig{})
	c, err := z.Attach()
	if err != nil {
		t.Fatal(err)
	}
	rt, err := dfu.Describe(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if rt.Mode() != "runtime" || rt.ProductID != ZephyrProductID || rt.SerialNumber != b.cfg.Name {
		t.Fatalf("run-time description %+v", rt)
	}
	ctl, desc, err := dfu.EnterDFU(ctx, c, z.Find)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Mode() != "dfu" || desc.ProductID != ZephyrDFUProductID {
		t.Fatalf("DFU-mode description %+v", desc)
	}
	d, err := dfu.Open(ctx, ctl, altNamed(t, desc, "image-1"))
	if err != nil {
		t.Fatal(err)
	}
	v2 := makeImage(t, imageSpec{version: "1.1.0", key: "ed25519.pem", counter: ctr(2), size: 50000})
	var last int64
	if err := d.Download(ctx, v2, func(done, total int64) { last = done }); err != nil {
		t.Fatal(err)
	}
	if last != int64(len(v2)) {
		t.Errorf("progress ended at %d of %d", last, len(v2))
	}
	back, err := d.Upload(ctx, len(v2), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, v2) {
		t.Fatal("image-1 read back differs from the image written")
	}
	boots := b.Running().Boots
	if err := ctl.(dfu.Resetter).Reset(ctx); err != nil {
		t.Fatal(err)
	}
	r := waitRunning(t, b, boots+1)
	if r.Version.String() != "1.1.0+0" || r.Confirmed {
		t.Fatalf("after the reset the board runs %+v, want 1.1.0 in test", r)
	}
	if _, err := z.Find(ctx); err != nil {
		t.Fatal(err)
	}
	sc := connect(t, b, nil)
	if _, err := sc.ConfirmImage(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if r := b.Running(); !r.Confirmed {
		t.Fatalf("not confirmed: %+v", r)
	}
}

// TestZephyrDFUUnplugged pulls the cable half way through a download: the
// host reports it, and the board, plugged back, still runs its image.
func TestZephyrDFUUnplugged(t *testing.T) {
	ctx := testCtx(t)
	b, _ := provisioned(t, Config{SlotSize: 128 << 10})
	z := NewZephyrDFU(b, ZephyrDFUConfig{})
	c, _ := z.Attach()
	ctl, desc, err := dfu.EnterDFU(ctx, c, z.Find)
	if err != nil {
		t.Fatal(err)
	}
	d, err := dfu.Open(ctx, ctl, altNamed(t, desc, "image-1"))
	if err != nil {
		t.Fatal(err)
	}
	v2 := makeImage(t, imageSpec{version: "1.1.0", key: "ed25519.pem", counter: ctr(2), size: 50000})
	err = d.Download(ctx, v2, func(done, total int64) {
		if done > total/2 {
			z.Unplug()
		}
	})
	if !errors.Is(err, dfu.ErrDisconnected) {
		t.Fatalf("download with the cable pulled: %v, want ErrDisconnected", err)
	}
	z.Plug()
	if _, err := z.Find(ctx); err != nil {
		t.Fatal(err)
	}
	if r := b.Running(); r.Recovery || r.Version.String() != "1.0.0+0" || !r.Confirmed {
		t.Fatalf("after the unplug the board runs %+v, want 1.0.0 confirmed", r)
	}
}

func pattern(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(rng.Uint32())
	}
	return p
}

// TestDfuSeFlashVerifyProtect writes across sectors of different sizes,
// reads back, leaves, then sets RDP level 1: reads are refused as on a
// real part, and read unprotect erases the flash.
func TestDfuSeFlashVerifyProtect(t *testing.T) {
	ctx := testCtx(t)
	s, err := NewDfuSe(DfuSeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := s.Attach()
	desc, err := dfu.Describe(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	flash := altNamed(t, desc, DefaultDfuSeLayout)
	l, err := flash.Layout()
	if err != nil || len(l.Sectors) != 12 || l.Size() != 1<<20 {
		t.Fatalf("layout %+v, %v", l, err)
	}
	d, err := dfu.Open(ctx, c, flash)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Download(ctx, []byte{1, 2, 3}, nil); err == nil {
		t.Fatal("a plain download to a DfuSe device, whose block 0 carries commands, was sent")
	}
	cmds, err := d.GetCommands(ctx)
	if err != nil || !bytes.Equal(cmds, []byte{0, 0x21, 0x41, 0x92}) {
		t.Fatalf("commands % x, %v", cmds, err)
	}
	img := pattern(100<<10, 7) // 16K ×4 and into the 64K sector
	if err := d.DownloadAt(ctx, 0x08000000, img, nil); err != nil {
		t.Fatal(err)
	}
	if err := d.Verify(ctx, 0x08000000, img, nil); err != nil {
		t.Fatal(err)
	}
	if got := s.Flash()[:len(img)]; !bytes.Equal(got, img) {
		t.Fatal("the flash does not hold the image")
	}
	// Writing over programmed flash without erasing is refused (errPROG),
	// and the device is usable afterwards.
	if err := d.SetAddress(ctx, 0x0800ffff); err != nil {
		t.Fatal(err)
	}
	if err := d.SetAddress(ctx, 0x20000000); !errors.Is(err, dfu.ErrStatus(dfu.StatusAddress)) {
		t.Fatalf("set address outside the flash: %v, want errADDRESS", err)
	}
	if err := d.Verify(ctx, 0x08000000, pattern(4096, 8), nil); !errors.Is(err, dfu.ErrMismatch) {
		t.Fatalf("verify of other bytes: %v, want ErrMismatch", err)
	}

	ob, err := dfu.Open(ctx, c, altNamed(t, desc, DefaultOptionLayout))
	if err != nil {
		t.Fatal(err)
	}
	if lvl, err := ob.ReadRDP(ctx); err != nil || lvl != dfu.RDP0 {
		t.Fatalf("RDP %v, %v", lvl, err)
	}
	if err := ob.SetRDP(ctx, dfu.RDP2); !errors.Is(err, dfu.ErrPermanent) {
		t.Fatalf("RDP 2: %v", err)
	}
	if err := ob.SetRDP(ctx, dfu.RDP1); err != nil {
		t.Fatal(err)
	}
	if s.RDP() != dfu.RDP1 {
		t.Fatalf("the part is at %v", s.RDP())
	}
	// The part reset to apply its option bytes: find it again.
	nc, err := waitReenumerated(ctx, s, c)
	if err != nil {
		t.Fatal(err)
	}
	d, err = dfu.Open(ctx, nc, flash)
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.UploadAt(ctx, 0x08000000, 1024, nil)
	var se *dfu.StatusError
	if !errors.As(err, &se) || se.Status != dfu.StatusVendor {
		t.Fatalf("read at RDP 1: %v, want errVENDOR", err)
	}
	if err := d.DownloadAt(ctx, 0x08000000, img[:1024], nil); !errors.Is(err, dfu.ErrStatus(dfu.StatusVendor)) {
		t.Fatalf("write at RDP 1: %v, want errVENDOR", err)
	}
	ob, _ = dfu.Open(ctx, nc, altNamed(t, desc, DefaultOptionLayout))
	if lvl, err := ob.ReadRDP(ctx); err != nil || lvl != dfu.RDP1 {
		t.Fatalf("RDP after setting 1: %v, %v", lvl, err)
	}
	if err := d.ReadUnprotect(ctx); err != nil {
		t.Fatal(err)
	}
	if s.RDP() != dfu.RDP0 || !bytes.Equal(s.Flash()[:16], bytes.Repeat([]byte{0xff}, 16)) {
		t.Fatal("read unprotect did not erase the flash and clear RDP")
	}
}

// waitReenumerated waits until the device has left the bus since old was
// attached and is back.
func waitReenumerated(ctx context.Context, s *DfuSe, old *USBConn) (*USBConn, error) {
	for {
		c, err := s.Attach()
		if err == nil && c.gen != old.gen {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// TestDfuSeLeave starts the application: the device leaves the bus.
func TestDfuSeLeave(t *testing.T) {
	ctx := testCtx(t)
	s, _ := NewDfuSe(DfuSeConfig{})
	c, _ := s.Attach()
	desc, _ := dfu.Describe(ctx, c)
	d, err := dfu.Open(ctx, c, altNamed(t, desc, DefaultDfuSeLayout))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Leave(ctx, 0x08000000); err != nil {
		t.Fatal(err)
	}
	for !s.AppRunning() {
		select {
		case <-ctx.Done():
			t.Fatal("the application never started")
		case <-time.After(time.Millisecond):
		}
	}
	if s.Present() {
		t.Error("the bootloader is still on the bus after leave")
	}
	s.EnterBootloader()
	if _, err := s.Find(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestPollTimeoutEnforced shows the simulator refuses a host that polls
// before bwPollTimeout, so the host's waiting is what the other tests rely
// on.
func TestPollTimeoutEnforced(t *testing.T) {
	ctx := testCtx(t)
	s, _ := NewDfuSe(DfuSeConfig{ErasePerKiB: 10 * time.Millisecond})
	c, _ := s.Attach()
	desc, _ := dfu.Describe(ctx, c)
	d, _ := dfu.Open(ctx, c, altNamed(t, desc, DefaultDfuSeLayout))
	d.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() } // an impatient host
	err := d.ErasePage(ctx, 0x08000000)
	if !errors.Is(err, dfu.ErrStatus(dfu.StatusStalledPkt)) {
		t.Fatalf("erase polled too early: %v, want errSTALLEDPKT", err)
	}
	d.Sleep = nil
	if err := d.ErasePage(ctx, 0x08000000); err != nil {
		t.Fatalf("erase by a patient host: %v", err)
	}
}

// TestDFUCancel cancels a download half way: the host aborts, the device is
// back in dfuIDLE and takes the next download.
func TestDFUCancel(t *testing.T) {
	ctx := testCtx(t)
	s, _ := NewDfuSe(DfuSeConfig{})
	c, _ := s.Attach()
	desc, _ := dfu.Describe(ctx, c)
	d, err := dfu.Open(ctx, c, altNamed(t, desc, DefaultDfuSeLayout))
	if err != nil {
		t.Fatal(err)
	}
	img := pattern(64<<10, 3)
	cctx, cancel := context.WithCancel(ctx)
	err = d.DownloadAt(cctx, 0x08000000, img, func(done, total int64) {
		if done > total*3/4 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled download: %v", err)
	}
	if st, err := d.GetState(ctx); err != nil || st != dfu.DFUIdle {
		t.Fatalf("after the cancel the device is in %v (%v), want dfuIDLE", st, err)
	}
	if err := d.DownloadAt(ctx, 0x08000000, img, nil); err != nil {
		t.Fatal(err)
	}
	if err := d.Verify(ctx, 0x08000000, img, nil); err != nil {
		t.Fatal(err)
	}
}
