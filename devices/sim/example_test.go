package sim_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"trustforge/crypto/mcuimg"
	"trustforge/devices/serial"
	"trustforge/devices/sim"
	"trustforge/devices/smp"
)

// The board on a pseudo-terminal, as `boardsim --pty` offers it: any serial
// tool can open p.Path().
func ExampleOpenPTY() {
	board, err := sim.New(sim.Config{Baud: 115200})
	if err != nil {
		log.Fatal(err)
	}
	defer board.Close()
	p, err := sim.OpenPTY()
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go board.Serve(ctx, p)

	port, err := serial.OpenPort(p.Path(), 115200)
	if err != nil {
		log.Fatal(err)
	}
	c := smp.NewClient(smp.FromStream(port), &smp.Options{Timeout: time.Second})
	defer c.Close()
	name, err := c.Bootloader(ctx)
	fmt.Println(name, err)
	// Output: MCUboot <nil>
}

// A power cut during an update: the board boots what its flash holds.
func ExampleBoard_Inject() {
	board, err := sim.New(sim.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer board.Close()
	img, _ := mcuimg.Sign(make([]byte, 1000), &mcuimg.SignOptions{Version: mcuimg.Version{Major: 1, Minor: 4}, HeaderSize: 0x200, PadHeader: true})
	board.Program(img)
	board.Inject(sim.Fault{Kind: sim.CutPower})
	fmt.Println("powered:", board.Powered())
	board.PowerOn()
	r := board.Running()
	fmt.Println("powered:", board.Powered(), "running", r.Version, "boots", r.Boots)
	// Output:
	// powered: false
	// powered: true running 1.4.0+0 boots 3
}
