package sim

import (
	"context"
	"testing"

	"trustforge/devices/dfu"
)

// FuzzDfuSeRequests drives the simulated STM32 bootloader with arbitrary
// control requests, as a page reaching it through the WebUSB shim may:
// it must answer or stall, never panic, and keep its flash size.
func FuzzDfuSeRequests(f *testing.F) {
	f.Add([]byte{1, 0, 0, 5, 0x21, 0, 0, 0, 8, 3, 0, 0, 3, 0, 0, 2, 2, 0, 64})
	f.Add([]byte{1, 0, 0, 1, 0x41, 3, 0, 0, 4, 0, 0, 2, 0, 0, 16, 6, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := NewDfuSe(DfuSeConfig{Layout: "@Internal Flash /0x08000000/04*001Kg", TransferSize: 64, WriteTime: -1, ErasePerKiB: -1})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for len(b) >= 4 {
			req, value, n := b[0]%8, uint16(b[1])|uint16(b[2])<<8, int(b[3])
			b = b[4:]
			c, err := s.Attach()
			if err != nil {
				return // the device reset or left: fine
			}
			st := dfu.Setup{Type: dfu.Class, Recipient: dfu.ToInterface, Request: req, Value: value}
			if req == 7 {
				_ = c.SelectAlternate(ctx, 0, uint8(value%3))
				continue
			}
			if req == 2 || req == 3 || req == 5 {
				_, _ = c.ControlIn(ctx, st, n)
				continue
			}
			data := b[:min(n, len(b))]
			b = b[len(data):]
			_ = c.ControlOut(ctx, st, data)
		}
		if len(s.Flash()) != 4<<10 {
			t.Fatal("the flash changed size")
		}
	})
}

// FuzzZephyrDFURequests does the same to a Zephyr board's DFU class, in
// run-time and DFU mode: the board keeps booting whatever happens.
func FuzzZephyrDFURequests(f *testing.F) {
	f.Add([]byte{0, 0xe8, 3, 0, 9, 0, 0, 0, 7, 1, 0, 0, 1, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 1, 0, 0, 3, 0, 0, 6})
	f.Fuzz(func(t *testing.T, b []byte) {
		board, err := New(Config{SlotSize: 16 << 10, SectorSize: 1 << 10})
		if err != nil {
			t.Fatal(err)
		}
		defer board.Close()
		z := NewZephyrDFU(board, ZephyrDFUConfig{TransferSize: 64, WriteTime: -1, EraseTime: -1, Enumerate: -1})
		ctx := context.Background()
		for len(b) >= 4 {
			req, value, n := b[0]%10, uint16(b[1])|uint16(b[2])<<8, int(b[3])
			b = b[4:]
			c, err := z.Attach()
			if err != nil {
				return
			}
			st := dfu.Setup{Type: dfu.Class, Recipient: dfu.ToInterface, Request: req, Value: value}
			switch req {
			case 7:
				_ = c.SelectAlternate(ctx, 0, uint8(value%3))
			case 8:
				_ = c.Reset(ctx)
			case 9:
				_, _ = dfu.Describe(ctx, c)
			case 2, 3, 5:
				_, _ = c.ControlIn(ctx, st, n)
			default:
				data := b[:min(n, len(b))]
				b = b[len(data):]
				_ = c.ControlOut(ctx, st, data)
			}
		}
	})
}
