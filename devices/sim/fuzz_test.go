package sim

import (
	"testing"

	"trustforge/devices/smp"
)

// FuzzHandle feeds arbitrary packets to the board's SMP server.
func FuzzHandle(f *testing.F) {
	f.Add([]byte{0x02, 0, 0, 9, 0, 0, 0, 0, 0xa1, 0x61, 0x64, 0x65, 0x68, 0x65, 0x6c, 0x6c, 0x6f})
	f.Add([]byte{0x0a, 0, 0, 1, 0, 1, 0, 0, 0xa0})
	f.Add([]byte{0x0a, 0, 0, 12, 0, 1, 0, 1, 0xa2, 0x63, 'o', 'f', 'f', 0x00, 0x64, 'd', 'a', 't', 'a', 0x40})
	f.Add([]byte{0x0a, 0, 0, 10, 0, 1, 0, 5, 0xa1, 0x64, 's', 'l', 'o', 't', 0x01, 0x00})
	b := newBoard(f, Config{SlotSize: 64 << 10})
	if err := b.Program(makeImage(f, imageSpec{version: "1.0.0"})); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		b.mu.Lock()
		ans, _ := b.handleLocked(pkt)
		b.mu.Unlock()
		if ans != nil {
			if _, _, err := smp.DecodePacket(ans); err != nil {
				t.Fatalf("the board answered a bad packet: %v", err)
			}
		}
	})
}

// FuzzBoot puts arbitrary bytes in the secondary slot, marked for a test
// swap, and boots: the bootloader must neither panic nor run them.
func FuzzBoot(f *testing.F) {
	f.Add(makeImage(f, imageSpec{version: "2.0.0", size: 600}))
	f.Add([]byte{0x3d, 0xb8, 0xf3, 0x96, 0, 0, 0, 0, 0x20, 0, 0, 0, 0x10, 0, 0, 0})
	b := newBoard(f, Config{SlotSize: 16 << 10, SectorSize: 1024})
	v1 := makeImage(f, imageSpec{version: "1.0.0", size: 600})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > b.secondary.maxImage() {
			return
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if err := b.primary.program(v1); err != nil {
			t.Fatal(err)
		}
		b.primary.eraseTrailer()
		if err := b.secondary.program(data); err != nil {
			t.Fatal(err)
		}
		b.secondary.setPending(false)
		b.bootLocked()
		if b.running.Recovery {
			t.Fatal("a bad secondary image left the board without its primary image")
		}
	})
}
