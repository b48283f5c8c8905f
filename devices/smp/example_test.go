package smp_test

import (
	"context"
	"fmt"
	"log"
	"net"

	"trustforge/crypto/mcuimg"
	"trustforge/devices/sim"
	"trustforge/devices/smp"
)

func ExampleClient_Upload() {
	// A simulated board on an in-process link; a serial.Port, a
	// pseudo-terminal or a browser port serve the same way.
	board, err := sim.New(sim.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer board.Close()
	factory, _ := mcuimg.Sign(make([]byte, 4096), &mcuimg.SignOptions{Version: mcuimg.Version{Major: 1}, HeaderSize: 0x200, PadHeader: true})
	board.Program(factory)
	host, dev := net.Pipe()
	go board.Serve(context.Background(), dev)

	c := smp.NewClient(smp.FromStream(host), nil)
	defer c.Close()
	ctx := context.Background()

	update, _ := mcuimg.Sign(make([]byte, 40000), &mcuimg.SignOptions{Version: mcuimg.Version{Major: 2}, HeaderSize: 0x200, PadHeader: true})
	res, err := c.Upload(ctx, update, &smp.UploadOptions{
		Progress: func(p smp.UploadProgress) { /* p.Offset of p.Total, p.Rate, p.ETA */ },
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("uploaded", res.Size, "bytes, checked by the board:", res.Checked)

	img, _ := mcuimg.Parse(update)
	_, hash, _ := img.Hash()
	state, err := c.TestImage(ctx, hash)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range state {
		fmt.Printf("slot %d: %s [%s]\n", s.Slot, s.Version, s.Flags())
	}
	// Output:
	// uploaded 40552 bytes, checked by the board: true
	// slot 0: 1.0.0 [active, confirmed]
	// slot 1: 2.0.0 [pending]
}
