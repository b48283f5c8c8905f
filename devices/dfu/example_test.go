package dfu_test

import (
	"context"
	"fmt"

	"trustforge/devices/dfu"
	"trustforge/devices/sim"
)

func ExampleParseLayout() {
	l, err := dfu.ParseLayout("@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg")
	if err != nil {
		panic(err)
	}
	s, _ := l.Sector(0x08010000)
	fmt.Println(l.Name, len(l.Sectors), "sectors,", l.Size()>>10, "KiB")
	fmt.Printf("0x08010000 is in a %d KiB sector at %#08x, erasable %v\n", s.Size>>10, s.Addr, s.Erasable)
	// Output:
	// Internal Flash 12 sectors, 1024 KiB
	// 0x08010000 is in a 64 KiB sector at 0x08010000, erasable true
}

func ExampleFile_Bytes() {
	f := &dfu.File{VendorID: 0x0483, ProductID: 0xdf11, Device: dfu.AnyID, Targets: []dfu.Target{{
		Name: "ST...", Elements: []dfu.Element{{Address: 0x08000000, Data: []byte{1, 2, 3, 4}}},
	}}}
	b, _ := f.Bytes()
	g, err := dfu.ParseFile(b)
	fmt.Println(len(b), "bytes,", len(g.Targets), "target, CRC ok:", err == nil)
	// Output: 313 bytes, 1 target, CRC ok: true
}

// ExampleWriteElements writes a firmware at its address through an STM32
// system bootloader (here the simulator's) and reads it back.
func ExampleWriteElements() {
	ctx := context.Background()
	stm32, _ := sim.NewDfuSe(sim.DfuSeConfig{})
	c, _ := stm32.Attach()
	desc, err := dfu.Describe(ctx, c)
	if err != nil {
		panic(err)
	}
	flash, _ := dfu.FindAlt(desc, 0)
	fw := []dfu.Element{{Address: 0x08000000, Data: make([]byte, 5000)}}
	err = dfu.WriteElements(ctx, c, flash, fw, dfu.WriteOptions{})
	fmt.Println(flash.Name, err)
	// Output: @Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg <nil>
}
