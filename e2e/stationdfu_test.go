package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"trustforge/crypto/bundle"
	"trustforge/crypto/keys"
	"trustforge/crypto/pki"
	"trustforge/crypto/production"
	"trustforge/crypto/vault"
	"trustforge/devices/dfu"
	"trustforge/devices/sim"
	"trustforge/e2e/driver"
	"trustforge/e2e/station"
	"trustforge/wasm/client"
	"trustforge/wasm/storage"
)

// TestStationDFUBoards: a station programs, from one production package,
// a serial MCUboot board, a Zephyr board with the USB DFU class and an
// STM32's DfuSe bootloader granted over WebUSB, each with its own ticket;
// the Zephyr board is provisioned over its USB SMP interface, its
// certificate carrying its ticket.
// The package asks for STM32 read-out protection: until the operator
// confirms it the STM32 is refused with nothing written; once confirmed,
// the image is written, read back and compared, and RDP level 1 set, after
// which the bootloader refuses reads. Each board's flash is read back from
// the simulator.
func TestStationDFUBoards(t *testing.T) {
	bg := context.Background()
	f := newFleet(t)
	stationUser := "dfu-line-" + f.product
	if err := env.accounts.createUser(bg, stationUser, "station", stationPass); err != nil {
		t.Fatal(err)
	}
	sctx, _ := newWorkTab(t, 8*time.Minute)
	serial := lineBoards(t, sctx, 1)[0]
	// Its provisioning id is its USB serial number, as Zephyr makes both
	// from the chip's unique id.
	// The server's registry outlives the test: each run has its own id.
	uid, zserial, zid := boardUID(t)
	zb, err := sim.New(sim.Config{SlotSize: 128 << 10, Name: "zephyr-line", BootKeys: []*keys.PublicKey{f.key.Public()},
		Provisioning: sim.ProvisionConfig{UID: uid}})
	if err != nil {
		t.Fatal(err)
	}
	defer zb.Close()
	if err := zb.Program(signedImage(t, "1.0.0", f.key, 8<<10)); err != nil {
		t.Fatal(err)
	}
	z := sim.NewZephyrDFU(zb, sim.ZephyrDFUConfig{Serial: zserial})
	st, err := sim.NewDfuSe(sim.DfuSeConfig{Serial: "3276365F3033"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := driver.InstallUSBShim(sctx, "",
		driver.ShimUSBDevice{ID: "zephyr", VendorID: sim.ZephyrVendorID, ProductID: sim.ZephyrProductID, Product: "Thermo Z",
			Serial: zserial, Granted: true, Device: zb, USB: z.USB},
		driver.ShimUSBDevice{ID: "stm32", VendorID: sim.STVendorID, ProductID: sim.STDfuSeProductID, Product: "STM32  BOOTLOADER",
			Serial: "3276365F3033", Granted: true, USB: st.USB},
	); err != nil {
		t.Fatal(err)
	}
	line := enrolStation(t, sctx, stationUser, "DFU line station")

	built := f.release(t, "1.1.0", 40<<10)
	rel := f.publish(t, built)
	pkg := stationPackage(t, f, stationUser, rel, built.Image.Bytes(), 3, production.DFU{ReadOutProtection: true})
	if err := line.Open(pkg.ID); err != nil {
		t.Fatal(err)
	}
	// The package's summary shows each term beside its value (it once
	// took the audit log's inline style, which shared its class name, and
	// stacked them).
	beside, err := chromedp.Run(sctx, chromedp.Evaluate[bool](`(() => {
		const a = document.querySelector("#station-package dt").getBoundingClientRect();
		const b = document.querySelector("#station-package dd").getBoundingClientRect();
		return b.left >= a.right && b.top < a.bottom && b.bottom > a.top;
	})()`))
	if err != nil || !beside {
		t.Errorf("the package summary's first value is not beside its term (err %v)", err)
	}

	// Unconfirmed: the serial and Zephyr boards are programmed, the STM32
	// refused before anything is written.
	run, err := line.Program()
	if err != nil {
		t.Fatal(err)
	}
	byPort := func(run *station.Run, prefix string) station.Board {
		t.Helper()
		for _, b := range run.Boards {
			if strings.HasPrefix(b.Port, prefix) {
				return b
			}
		}
		t.Fatalf("no board on %s in %+v", prefix, run.Boards)
		return station.Board{}
	}
	if len(run.Boards) != 3 {
		t.Fatalf("the run reports %d boards: %+v", len(run.Boards), run.Boards)
	}
	if b := byPort(run, "port 1"); b.State != "done" || b.Ticket == "" {
		t.Errorf("the serial board: %+v", b)
	}
	zr := byPort(run, "USB DFU 2")
	if zr.State != "done" || zr.Device != zid || zr.Ticket == "" || !strings.Contains(zr.Detail, "provisioned, flashed and running 1.1.0") {
		t.Errorf("the Zephyr board: %+v", zr)
	}
	sr := byPort(run, "USB DFU 3")
	if sr.State != "refused" || sr.Ticket != "" || !strings.Contains(sr.Detail, "cannot be undone") || !strings.Contains(sr.Detail, "nothing was written") {
		t.Errorf("the unconfirmed STM32: %+v", sr)
	}
	if r := serial.Running(); r.Version.String() != "1.1.0+0" || !r.Confirmed {
		t.Errorf("the serial board runs %+v", r)
	}
	if r := zb.Running(); r.Version.String() != "1.1.0+0" || !r.Confirmed {
		t.Errorf("the Zephyr board runs %+v", r)
	}
	if got, err := zb.ReadSlot(0, len(built.Image.Bytes())); err != nil || !bytes.Equal(got, built.Image.Bytes()) {
		t.Errorf("the Zephyr board's primary slot does not hold the release's image (%v)", err)
	}
	// Provisioned over its USB SMP interface: its certificate carries its
	// ticket, and it is locked.
	if p := zb.Provisioning(); !p.Locked || p.Chain == nil {
		t.Errorf("the Zephyr board is not provisioned and locked: %+v", p)
	} else if chain, err := pki.ParseChain(p.Chain); err != nil {
		t.Error(err)
	} else if tk, ok, err := production.TicketOf(chain[0]); !ok || err != nil || tk.Claimed().ID != zr.Ticket || tk.Claimed().Device != zid {
		t.Errorf("the Zephyr board's certificate carries ticket %v (%v), want %s", ok, err, zr.Ticket)
	}
	if !bytes.Equal(st.Flash()[:64], bytes.Repeat([]byte{0xff}, 64)) || st.RDP() != dfu.RDP0 {
		t.Fatalf("the unconfirmed STM32 was written to (RDP %v)", st.RDP())
	}
	// The page with its board table and the read-out protection warning
	// passes axe-core's checks.
	for _, v := range runAxe(t, sctx) {
		t.Errorf("station mode with USB DFU boards: %s", v)
	}

	// Confirmed: the STM32 is written, read back, protected; the others,
	// already programmed, are refused without a second ticket.
	if err := line.ConfirmReadOutProtection(); err != nil {
		t.Fatal(err)
	}
	run, err = line.Program()
	if err != nil {
		t.Fatal(err)
	}
	sr = byPort(run, "USB DFU 3")
	if sr.State != "done" || sr.Device != "3276365f3033" || sr.Ticket == "" ||
		!strings.Contains(sr.Detail, "RDP level 1") || !strings.Contains(sr.Detail, "refuses to read") {
		t.Errorf("the confirmed STM32: %+v", sr)
	}
	if !bytes.Equal(st.Flash()[:len(built.Image.Bytes())], built.Image.Bytes()) {
		t.Error("the STM32's flash does not hold the release's image")
	}
	if st.RDP() != dfu.RDP1 {
		t.Errorf("the STM32 is at %v", st.RDP())
	}
	for _, p := range []string{"port 1", "USB DFU 2"} {
		if b := byPort(run, p); b.State != "refused" || b.Ticket != "" {
			t.Errorf("%s, programmed already: %+v", p, b)
		}
	}
	if n := auditCount(t, "production.ticket", pkg.ID); n != 3 {
		t.Errorf("%d tickets in the audit log, want 3", n)
	}
	if c := run.Counts; c.Done != 3 || c.Refused != 3 || c.Remaining != 0 {
		t.Errorf("counts %+v", c)
	}
}

// stationPackage builds and publishes a production package of count
// devices of the MCUboot release rel (its image in the clear) for the
// station account stationUser, with USB DFU settings d.
func stationPackage(t *testing.T, f *fleet, stationUser string, rel client.Release, image []byte, count int, d production.DFU) client.Package {
	t.Helper()
	bg := context.Background()
	api, err := engineerAPI()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := api.Recipients(bg)
	if err != nil {
		t.Fatal(err)
	}
	var rcpt bundle.Recipient
	for _, r := range rs {
		if r.User == stationUser {
			if rcpt, err = bundle.ParseRecipient(r.Recipient); err != nil {
				t.Fatal(err)
			}
		}
	}
	if rcpt == nil {
		t.Fatalf("station %s has published no recipient", stationUser)
	}
	st := &storage.Memory{}
	v, err := vault.Create(bg, st, "engineer passphrase", vault.Options{WorkFactor: 1})
	if err != nil {
		t.Fatal(err)
	}
	ca := pki.New(st, v, pki.Options{})
	if _, err := ca.InitRoot(bg, pki.RootOptions{Organization: "Acme DFU"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.AddIntermediate(bg, pki.IntermediateOptions{Product: f.product}); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	batch := "dfu-" + f.product
	b, err := ca.NewBatch(bg, pki.BatchOptions{Product: f.product, Batch: batch, NotBefore: start, NotAfter: start.Add(7 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.AddDeviceRoot(bg, f.product, b.Root, "DFU line"); err != nil {
		t.Fatal(err)
	}
	rid, err := bundle.ParseDigest(rel.ID)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := f.key.Signer()
	if err != nil {
		t.Fatal(err)
	}
	var tfp bytes.Buffer
	if _, err := production.Build(bg, &tfp, production.BuildInput{
		Manifest: production.Manifest{Product: f.product, Batch: batch, Count: count, NotBefore: start, Expires: start.Add(7 * 24 * time.Hour),
			Release: production.Release{ID: rid, Version: rel.Version}, ImageMode: production.ImageClear,
			CA: b.CA.Cert.Raw, Root: b.Root.Raw, DFU: d},
		Image: image, CAKey: b.Key, Stations: []bundle.Recipient{rcpt}, Key: signer,
	}); err != nil {
		t.Fatal(err)
	}
	pkg, err := api.PublishPackage(bg, tfp.Bytes(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return pkg
}

// TestStationDFUUnplugged pulls a Zephyr board's cable while the station
// writes its slot: the board's row says it is unplugged, the board plugged
// back boots its confirmed factory image, and the station writes it again
// from the start and finishes it, under its one ticket.
func TestStationDFUUnplugged(t *testing.T) {
	bg := context.Background()
	f := newFleet(t)
	stationUser := "dfu-unplug-" + f.product
	if err := env.accounts.createUser(bg, stationUser, "station", stationPass); err != nil {
		t.Fatal(err)
	}
	sctx, _ := newWorkTab(t, 6*time.Minute)
	if _, err := driver.InstallSerialShim(sctx, driver.ChooseCancel); err != nil {
		t.Fatal(err)
	}
	uid, zserial, zid := boardUID(t)
	zb, err := sim.New(sim.Config{SlotSize: 128 << 10, Name: "zephyr-unplug-line", BootKeys: []*keys.PublicKey{f.key.Public()},
		Provisioning: sim.ProvisionConfig{UID: uid}})
	if err != nil {
		t.Fatal(err)
	}
	defer zb.Close()
	if err := zb.Program(signedImage(t, "1.0.0", f.key, 8<<10)); err != nil {
		t.Fatal(err)
	}
	// Slow flash writes, so the cable comes out half way.
	z := sim.NewZephyrDFU(zb, sim.ZephyrDFUConfig{Serial: zserial, WriteTime: 20 * time.Millisecond})
	usb, err := driver.InstallUSBShim(sctx, "", driver.ShimUSBDevice{ID: "zephyr", VendorID: sim.ZephyrVendorID,
		ProductID: sim.ZephyrProductID, Product: "Thermo Z", Serial: zserial, Granted: true, Device: zb, USB: z.USB})
	if err != nil {
		t.Fatal(err)
	}
	line := enrolStation(t, sctx, stationUser, "DFU unplug station")
	built := f.release(t, "1.1.0", 60<<10)
	rel := f.publish(t, built)
	pkg := stationPackage(t, f, stationUser, rel, built.Image.Bytes(), 1, production.DFU{})
	if err := line.Open(pkg.ID); err != nil {
		t.Fatal(err)
	}

	click(t, sctx, "station-run")
	if _, err := chromedp.Run(sctx, chromedp.Poll[bool](`Number((document.getElementById("station-progress-0") || {dataset: {}}).dataset.done) > 16384`,
		chromedp.WithPollingInterval(5*time.Millisecond))); err != nil {
		t.Fatalf("waiting for the write to be under way: %v", err)
	}
	if err := usb.Unplug("zephyr"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, sctx, `tr[data-testid="station-board"][data-unplugged="true"]`)
	hasText(t, sctx, "station-board-0", "unplugged: waiting for the board")
	if err := usb.Plug("zephyr"); err != nil {
		t.Fatal(err)
	}
	// Plugged back, it booted what it had: the slot was never requested.
	if r := zb.Running(); r.Recovery || r.Version.String() != "1.0.0+0" || !r.Confirmed {
		t.Fatalf("plugged back, the board runs %+v, want 1.0.0 confirmed", r)
	}
	waitFor(t, sctx, `#station[data-state="ready"][data-runs="1"]`)
	waitFor(t, sctx, `tr[data-testid="station-board"][data-state="done"][data-device="`+zid+`"]`)
	hasText(t, sctx, "station-board-0", "provisioned, flashed and running 1.1.0")
	if r := zb.Running(); r.Version.String() != "1.1.0+0" || !r.Confirmed {
		t.Errorf("the board runs %+v, want 1.1.0 confirmed", r)
	}
	if got, err := zb.ReadSlot(0, len(built.Image.Bytes())); err != nil || !bytes.Equal(got, built.Image.Bytes()) {
		t.Errorf("the board's primary slot does not hold the release's image (%v)", err)
	}
	if n := auditCount(t, "production.ticket", pkg.ID); n != 1 {
		t.Errorf("%d tickets in the audit log, want 1", n)
	}
}

// boardUID returns a fresh factory unique id for a simulated Zephyr board:
// its bytes, its USB serial number (Zephyr writes it in uppercase hex) and
// its device id.
func boardUID(tb testing.TB) (uid []byte, serial, id string) {
	uid = make([]byte, 6)
	if _, err := rand.Read(uid); err != nil {
		tb.Fatal(err)
	}
	id = hex.EncodeToString(uid)
	return uid, strings.ToUpper(id), id
}
