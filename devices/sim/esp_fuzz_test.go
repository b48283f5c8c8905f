package sim

import (
	"testing"

	"trustforge/devices/esprom"
)

// FuzzESPHandle feeds the simulated ROM loader arbitrary command packets:
// it must answer or ignore each one and never panic.
func FuzzESPHandle(f *testing.F) {
	f.Add(esprom.MarshalRequest(esprom.OpSync, esprom.SyncPayload(), 0))
	f.Add(esprom.MarshalRequest(esprom.OpReadReg, []byte{0, 0x10, 0, 0x40}, 0))
	f.Add(esprom.MarshalRequest(esprom.OpFlashDeflBegin, make([]byte, 20), 0))
	f.Add(esprom.MarshalRequest(esprom.OpFlashData, make([]byte, 17), 0xEF))
	f.Add(esprom.MarshalRequest(esprom.OpWriteReg, make([]byte, 16), 0))
	f.Fuzz(func(t *testing.T, frame []byte) {
		e := NewESPBoard(ESPConfig{FlashSize: 64 << 10})
		begin := esprom.MarshalRequest(esprom.OpFlashBegin, []byte{0, 4, 0, 0, 1, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0}, 0)
		e.handle(begin)
		e.handle(frame)
		e.handle(frame)
		e.mu.Lock()
		e.abortWriteLocked()
		e.mu.Unlock()
	})
}
