package fwupdate_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"trustforge/crypto/bundle"
	"trustforge/crypto/mcuimg"
	"trustforge/devices/fwupdate"
	"trustforge/devices/sim"
	"trustforge/devices/smp"
)

// Example updates a simulated board from 1.0.0 to 1.1.0: read it, check
// the release against it, upload, boot the new image once, check it runs
// and confirm it.
func Example() {
	ctx := context.Background()
	board, _ := sim.New(sim.Config{SlotSize: 128 << 10})
	defer board.Close()
	img := func(minor uint8) []byte {
		b, _ := mcuimg.Sign(make([]byte, 4096), &mcuimg.SignOptions{Version: mcuimg.Version{Major: 1, Minor: minor}, HeaderSize: 0x200, PadHeader: true})
		return b
	}
	board.Program(img(0))

	// A cable between the board and the client.
	host, dev := net.Pipe()
	go board.Serve(ctx, dev)
	c := smp.NewClient(smp.FromStream(host), &smp.Options{Timeout: 2 * time.Second})
	defer c.Close()

	s, err := fwupdate.ReadSummary(ctx, c)
	if err != nil {
		fmt.Println(err)
		return
	}
	v, _ := bundle.ParseVersion("1.1.0")
	release := &bundle.Manifest{Product: "thermo", Version: v, Hardware: []string{s.Hardware}}
	if err := fwupdate.Check(release, s, fwupdate.CheckOptions{}); err != nil {
		fmt.Println(err)
		return
	}
	newImage := img(1)
	im, _ := mcuimg.Parse(newImage)
	_, hash, _ := im.Hash()

	if _, err := fwupdate.Upload(ctx, c, newImage, 0, nil); err != nil {
		fmt.Println(err)
		return
	}
	fwupdate.TestBoot(ctx, c, hash)
	fwupdate.Reset(ctx, c, 10*time.Second, fwupdate.NothingPending)
	run, err := fwupdate.CheckRunning(ctx, c, 0, hash)
	fmt.Println("runs", run.Version, "confirmed:", run.Confirmed, err)
	run, err = fwupdate.Confirm(ctx, c, 0)
	fmt.Println("runs", run.Version, "confirmed:", run.Confirmed, err)

	// The same release again is refused.
	s, _ = fwupdate.ReadSummary(ctx, c)
	fmt.Println(fwupdate.Check(release, s, fwupdate.CheckOptions{}))
	// Output:
	// runs 1.1.0 confirmed: false <nil>
	// runs 1.1.0 confirmed: true <nil>
	// fwupdate: refused: the board already runs 1.1.0
}
