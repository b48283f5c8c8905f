package e2e

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"trustforge/devices/serial"
	"trustforge/devices/smp"
	"trustforge/e2e/driver"
)

// TestWebSerialShimFollowsTheSpec checks, from a page script, the behaviours
// of the Web Serial specification the console relies on, so that code that
// passes against the shim runs against Chrome's own navigator.serial.
func TestWebSerialShimFollowsTheSpec(t *testing.T) {
	ctx, _ := newTab(t)
	b := newBoard(t, ctx, boardOptions{Running: "1.0.0", Baud: 115200})
	if err := driver.Open(ctx, env.server.URL+"/"); err != nil {
		t.Fatal(err)
	}
	// An SMP echo, framed as on the wire.
	pkt, err := smp.EncodePacket(smp.Header{Op: smp.OpWrite, Group: smp.GroupOS, ID: smp.CmdEcho, Seq: 7},
		[]byte{0xa1, 0x61, 0x64, 0x64, 's', 'h', 'i', 'm'})
	if err != nil {
		t.Fatal(err)
	}
	frame, err := serial.Encode(pkt)
	if err != nil {
		t.Fatal(err)
	}
	script := `(async () => {
	const fails = [];
	const expect = async (what, f, name) => {
		try { await f(); fails.push(what + ": no error, want " + name); }
		catch (e) { if (e.name !== name) fails.push(what + ": " + e.name + " (" + e.message + "), want " + name); }
	};
	const frame = Uint8Array.from(atob("` + base64.StdEncoding.EncodeToString(frame) + `"), c => c.charCodeAt(0));

	await expect("requestPort without a click", () => navigator.serial.requestPort(), "SecurityError");
	await expect("a product filter without a vendor", () => navigator.serial.requestPort({filters: [{usbProductId: 1}]}), "TypeError");
	const ports = await navigator.serial.getPorts();
	if (ports.length !== 1) { fails.push("getPorts: " + ports.length + " ports"); return fails; }
	const port = ports[0];
	if (!(port instanceof SerialPort)) fails.push("the port is not a SerialPort");
	const info = port.getInfo();
	if (info.usbVendorId !== 0x2fe3 || info.usbProductId !== 0x0100) fails.push("getInfo: " + JSON.stringify(info));
	if (port.readable !== null || port.writable !== null) fails.push("streams before open");
	await expect("open without a baud rate", () => port.open({}), "TypeError");
	await expect("open at 0 baud", () => port.open({baudRate: 0}), "TypeError");
	await expect("open with 9 data bits", () => port.open({baudRate: 115200, dataBits: 9}), "TypeError");
	await expect("open with mark parity", () => port.open({baudRate: 115200, parity: "mark"}), "TypeError");
	await port.open({baudRate: 115200, bufferSize: 4096});
	await expect("open twice", () => port.open({baudRate: 115200}), "InvalidStateError");
	if (!(port.readable instanceof ReadableStream) || !(port.writable instanceof WritableStream)) fails.push("stream types");
	if (port.readable !== port.readable) fails.push("readable is not one stream");

	const reader = port.readable.getReader();
	const writer = port.writable.getWriter();
	await expect("a second reader", async () => port.readable.getReader(), "TypeError");
	await expect("close with locked streams", () => port.close(), "TypeError");
	await writer.write(frame);
	let got = "";
	while (!got.includes("\n")) {
		const {value, done} = await reader.read();
		if (done) { fails.push("the stream ended"); break; }
		if (!(value instanceof Uint8Array)) { fails.push("a chunk is not a Uint8Array"); break; }
		for (const c of value) got += String.fromCharCode(c);
		got = got.slice(got.indexOf("\x06\x09"));
	}
	if (!got.startsWith("\x06\x09")) fails.push("no SMP answer: " + JSON.stringify(got.slice(0, 40)));
	const sig = await port.getSignals();
	if (!sig.clearToSend) fails.push("getSignals: " + JSON.stringify(sig));
	await expect("setSignals with nothing", () => port.setSignals({}), "TypeError");
	await port.setSignals({dataTerminalReady: true});

	reader.releaseLock();
	writer.releaseLock();
	await port.close();
	if (port.readable !== null || port.writable !== null) fails.push("streams after close");
	await expect("close twice", () => port.close(), "InvalidStateError");

	// Events bubble from the port to navigator.serial, with the port as
	// their target.
	window.__events = [];
	navigator.serial.addEventListener("disconnect", e => __events.push("serial:disconnect:" + (e.target === port)));
	navigator.serial.addEventListener("connect", e => __events.push("serial:connect:" + (e.target === port)));
	port.addEventListener("disconnect", e => __events.push("port:disconnect"));
	navigator.serial.ondisconnect = () => __events.push("ondisconnect");
	window.__port = port;
	return fails;
})()`
	fails, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](script, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fails {
		t.Error(f)
	}

	// Unplugged: a port held open loses its streams with a NetworkError.
	opened, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(async () => {
		await __port.open({baudRate: 115200});
		window.__reader = __port.readable.getReader();
		window.__readErr = __reader.read().then(() => "resolved", e => e.name);
		return true;
	})()`, chromedp.EvalAwaitPromise))
	if err != nil || !opened {
		t.Fatalf("reopening: %v", err)
	}
	if err := b.shim.Unplug(b.port); err != nil {
		t.Fatal(err)
	}
	after, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(async () => [
		await __readErr,
		String(__port.readable),
		String((await navigator.serial.getPorts()).length),
		...__events,
	])()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	want := "NetworkError null 0 port:disconnect serial:disconnect:true ondisconnect"
	if got := strings.Join(after, " "); got != want {
		t.Errorf("after an unplug: %q, want %q", got, want)
	}
	if err := b.shim.Plug(b.port); err != nil {
		t.Fatal(err)
	}
	back, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(async () => {
		__reader.releaseLock();
		await __port.close();
		await __port.open({baudRate: 115200});
		await __port.close();
		await __port.forget();
		return [__events[__events.length - 1], String((await navigator.serial.getPorts()).length)];
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(back, " "); got != "serial:connect:true 0" {
		t.Errorf("after a replug, reopen and forget: %q, want the connect event and no port left", got)
	}
}
