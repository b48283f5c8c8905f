package sim

import (
	"context"
	"fmt"
	"testing"
	"time"

	"trustforge/crypto/espimg"
	"trustforge/devices/esprom"
	"trustforge/devices/serial"
	"trustforge/devices/smp"
)

// BenchmarkESPFlash writes a 1 MiB ESP32-C3 app through the simulated ROM
// loader on a real pseudo-terminal paced at 115200 and 921600 baud, with
// 1 KiB blocks (esptool's for the ROM loader) and 16 KiB blocks (what
// esptool-js sends the ESP32-C3's ROM), deflate-compressed and plain, and verifies it
// with SPI_FLASH_MD5. It reports the share of the link's byte ceiling
// (baud/10) that data payload used (compressed bytes counted as payload),
// and the rate of app bytes landing in flash. The simulated flash writes
// take no time, so the figure is the protocol's and client's, not a
// chip's. The pacing is real time: run it with -benchtime=1x.
func BenchmarkESPFlash(b *testing.B) {
	app := espApp(b, espimg.ESP32C3, 1<<20-512, "bench")
	for _, baud := range []int{115200, 921600} {
		for _, block := range []int{0x400, 0x4000} {
			for _, comp := range []bool{true, false} {
				name := fmt.Sprintf("baud=%d/block=%d/deflate=%v", baud, block, comp)
				b.Run(name, func(b *testing.B) {
					for range b.N {
						benchESPFlash(b, baud, block, comp, app)
					}
				})
			}
		}
	}
}

func benchESPFlash(b *testing.B, baud, block int, comp bool, app []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	e := NewESPBoard(ESPConfig{Baud: baud})
	p, err := OpenPTY()
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go e.Serve(sctx, p)
	port, err := serial.OpenPort(p.Path(), baud)
	if err != nil {
		b.Fatal(err)
	}
	defer port.Close()
	c := esprom.New(smp.FromStream(port), esprom.Options{})
	defer c.Close()
	ci, err := c.Connect(ctx, esprom.ResetNone)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	res, err := c.Flash(ctx, ci, []esprom.Part{{Name: "app", Offset: 0x10000, Data: app}}, esprom.FlashOptions{Uncompressed: !comp, BlockSize: block})
	if err != nil {
		b.Fatal(err)
	}
	el := time.Since(start).Seconds()
	ceiling := float64(baud) / 10
	b.ReportMetric(100*float64(res.Sent)/el/ceiling, "%link")
	b.ReportMetric(float64(res.Written)/el/1024, "appKiB/s")
	b.ReportMetric(float64(res.Sent)/float64(res.Written)*100, "%sent")
}
