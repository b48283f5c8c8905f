//go:build js && wasm

package link

import (
	"context"
	"os"
	"runtime"
	"syscall/js"
	"testing"
	"time"

	"trustforge/devices/webserial"
)

// installSerialShim puts the e2e tests' Web Serial shim (a specification
// following navigator.serial whose ports reach no hardware) into the
// JavaScript runtime the test runs in, with one granted, plugged port
// whose host accepts every open, write and close and never sends a byte.
func installSerialShim(t *testing.T) {
	t.Helper()
	if js.Global().Get("__tfSerialShim").Truthy() {
		return
	}
	src, err := os.ReadFile("../../e2e/driver/webserial_shim.js")
	if err != nil {
		t.Fatal(err)
	}
	kitSrc, err := os.ReadFile("../../e2e/driver/shimkit.js")
	if err != nil {
		t.Fatal(err)
	}
	eval := js.Global().Get("eval")
	eval.Invoke(`
		globalThis.window = globalThis;
		if (typeof Navigator === "undefined") {
			globalThis.Navigator = class Navigator {};
			Object.defineProperty(globalThis, "navigator", { value: new Navigator(), configurable: true });
		}
		globalThis.__tfLifetimeHost = (req) => req.op === "read" ? new Promise(() => {}) : Promise.resolve({});
	`)
	shim := eval.Invoke(string(src))
	config := js.Global().Get("JSON").Call("parse",
		`{"host": "__tfLifetimeHost", "ports": [{"id": "p1", "usbVendorId": 4660, "usbProductId": 22136, "granted": true, "connected": true}]}`)
	shim.Invoke(config, eval.Invoke(string(kitSrc)).Invoke(config))
}

// settled waits for the goroutine count to come down to at most want, and
// returns the count it saw last. Goroutines end a little after the call
// that ends them, so it polls; the bound is the test's patience, not a
// speed claim.
func settled(want int) int {
	deadline := time.Now().Add(20 * time.Second)
	n := runtime.NumGoroutine()
	for n > want && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

// steady returns the goroutine count once it has stopped changing.
func steady() int {
	n := runtime.NumGoroutine()
	for same := 0; same < 5; {
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n {
			same++
		} else {
			n, same = m, 0
		}
	}
	return n
}

// TestSerialReconnectsLeaveNoGoroutines connects to a serial board and
// disconnects again, several times: every goroutine a connection starts
// must end with it (the watch for a board coming back belongs to the
// link, not to a connection).
func TestSerialReconnectsLeaveNoGoroutines(t *testing.T) {
	installSerialShim(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ports, err := webserial.Ports.Granted(ctx)
	if err != nil || len(ports) != 1 {
		t.Fatalf("Granted = %d ports, %v; want the shim's one", len(ports), err)
	}
	l := New()
	connect := func() {
		t.Helper()
		if err := l.ConnectSerial(ctx, ports[0], 115200); err != nil {
			t.Fatal(err)
		}
		if st := l.Status(); st.State != Connected {
			t.Fatalf("after ConnectSerial: %+v", st)
		}
		l.Disconnect()
	}
	connect() // the link's own watch starts here
	base := steady()
	const rounds = 5
	for range rounds {
		connect()
	}
	if n := settled(base); n > base {
		t.Errorf("%d goroutines after %d more connections and disconnections, %d before: %d leaked", n, rounds, base, n-base)
	}
}

// TestCloseEndsTheLink: the watch for boards plugged back in belongs to
// the link, and Close ends it with everything else the link started.
func TestCloseEndsTheLink(t *testing.T) {
	installSerialShim(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ports, err := webserial.Ports.Granted(ctx)
	if err != nil || len(ports) != 1 {
		t.Fatalf("Granted = %d ports, %v; want the shim's one", len(ports), err)
	}
	base := steady()
	for range 3 {
		l := New()
		if err := l.ConnectSerial(ctx, ports[0], 115200); err != nil {
			t.Fatal(err)
		}
		l.Close()
	}
	if n := settled(base); n > base {
		t.Errorf("%d goroutines after three links were closed, %d before: %d leaked", n, base, n-base)
	}
}
