package e2e

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"trustforge/devices/serial"
	"trustforge/devices/sim"
	"trustforge/devices/smp"
	"trustforge/e2e/driver"
)

// flashBenchCases are the line speeds and image sizes of the flash
// benchmarks: a 64 KiB image takes about 8 s at 115200 baud, a 256 KiB one
// about 3.5 s at 1 Mbaud.
var flashBenchCases = []struct {
	baud int
	size int
}{
	{115200, 64 << 10},
	{1_000_000, 256 << 10},
}

// BenchmarkFlash compares an upload through the browser — the console's
// Devices page over the Web Serial shim, bridged to a simulated board paced
// at the line speed — with the Go command line's path over a
// pseudo-terminal to the same simulated board (serial.OpenPort and the SMP
// client, as `trustforge device image upload` does). Both report the
// upload's own measure (smp.UploadResult.Elapsed); "browser-vs-cli-%" is the
// browser's throughput as a share of the CLI's, and the goal is at least 90.
func BenchmarkFlash(b *testing.B) {
	for _, c := range flashBenchCases {
		b.Run(fmt.Sprintf("baud=%d/size=%dKiB", c.baud, c.size>>10), func(b *testing.B) {
			img := signedImage(b, "1.1.0", nil, c.size)
			var cli, web float64 // bytes per second, best of the loops
			for b.Loop() {
				cli = max(cli, flashCLI(b, c.baud, img))
				web = max(web, flashBrowser(b, c.baud, img))
			}
			b.ReportMetric(cli/1024, "cli-KiB/s")
			b.ReportMetric(web/1024, "browser-KiB/s")
			b.ReportMetric(100*web/cli, "browser-vs-cli-%")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// benchBoard returns a simulated board paced at baud, running 1.0.0.
func benchBoard(tb testing.TB, baud int) *sim.Board {
	tb.Helper()
	brd, err := sim.New(sim.Config{SlotSize: 512 << 10, Baud: baud})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { brd.Close() })
	if err := brd.Program(signedImage(tb, "1.0.0", nil, 8<<10)); err != nil {
		tb.Fatal(err)
	}
	return brd
}

// flashCLI uploads img over a pseudo-terminal and returns the throughput.
func flashCLI(tb testing.TB, baud int, img []byte) float64 {
	tb.Helper()
	brd := benchBoard(tb, baud)
	pty, err := sim.OpenPTY()
	if err != nil {
		tb.Skipf("no pseudo-terminals: %v", err)
	}
	defer pty.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	go brd.Serve(ctx, pty)
	port, err := serial.OpenPort(pty.Path(), baud)
	if err != nil {
		tb.Fatal(err)
	}
	c := smp.NewClient(smp.FromStream(port), nil)
	defer c.Close()
	res, err := c.Upload(ctx, img, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return float64(res.Size-res.Start) / res.Elapsed.Seconds()
}

// flashBrowser uploads img from the Devices page and returns the
// throughput the page measured.
func flashBrowser(tb testing.TB, baud int, img []byte) float64 {
	tb.Helper()
	ctx, _ := newTab(tb)
	brd := benchBoard(tb, baud)
	_, err := driver.InstallSerialShim(ctx, "", driver.ShimPort{ID: "bench", VendorID: 0x2fe3, ProductID: 1, Baud: baud, Granted: true, Device: brd})
	if err != nil {
		tb.Fatal(err)
	}
	if err := driver.Open(ctx, env.server.URL+"/devices"); err != nil {
		tb.Fatal(err)
	}
	connectBoard(tb, ctx, &board{Board: brd, baud: baud})
	waitSlot(tb, ctx, 0, "1.0.0", "active")
	setFile(tb, ctx, "upload-file", writeFile(tb, "bench.bin", img))
	waitFor(tb, ctx, "#upload-file-info")
	click(tb, ctx, "upload-start")
	waitFor(tb, ctx, "#upload-message")
	n, _ := strconv.ParseFloat(attr(tb, ctx, "#upload-message", "data-bytes"), 64)
	us, _ := strconv.ParseFloat(attr(tb, ctx, "#upload-message", "data-elapsed-us"), 64)
	if n == 0 || us == 0 {
		tb.Fatalf("the page measured %v bytes in %v µs", n, us)
	}
	return n / (us / 1e6)
}
