package board

import (
	"runtime"
	"testing"
	"time"

	"trustforge/wasm/client"
	"trustforge/wasm/state"
)

// TestDeviceKitCloseEndsItsGoroutines: the kit's sync of update records
// runs until the kit is closed, and no longer.
func TestDeviceKitCloseEndsItsGoroutines(t *testing.T) {
	base := runtime.NumGoroutine()
	for range 3 {
		k := NewKit()
		st := state.New(state.Config{API: &client.Client{BaseURL: "http://127.0.0.1:0"}})
		k.StartSync(st)
		k.StartSync(st) // once per kit
		k.Kick()
		k.close()
		k.StartSync(st) // a closed kit starts nothing
	}
	// A goroutine that returned may take a moment to leave the count.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		t.Errorf("%d goroutines after three kits were closed, %d before", n, base)
	}
}
