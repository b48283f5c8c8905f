package sim

import (
	"context"
	"testing"
	"time"

	"trustforge/devices/dfu"
)

// BenchmarkDFUDownload downloads 1 MiB through the DFU device models with
// the devices/dfu host, and reports throughput and the share of the ceiling
// the devices allow: no host can finish before the sum of the
// bwPollTimeouts the device announces (erasing, then one per block of its
// wTransferSize, as sent in whole milliseconds), so ceiling% = that sum /
// the time taken. Run it with
// -benchtime=1x; the waits are real time.
func BenchmarkDFUDownload(b *testing.B) {
	const size = 1 << 20
	data := pattern(size, 1)
	report := func(b *testing.B, elapsed, ceiling time.Duration) {
		b.ReportMetric(float64(size)/1024/elapsed.Seconds(), "KiB/s")
		b.ReportMetric(100*ceiling.Seconds()/elapsed.Seconds(), "ceiling%")
	}
	b.Run("dfuse-stm32f4", func(b *testing.B) {
		ctx := context.Background()
		cfg := DfuSeConfig{}
		var elapsed, ceiling time.Duration
		for b.Loop() {
			s, err := NewDfuSe(cfg)
			if err != nil {
				b.Fatal(err)
			}
			c, _ := s.Attach()
			desc, err := dfu.Describe(ctx, c)
			if err != nil {
				b.Fatal(err)
			}
			d, err := dfu.Open(ctx, c, desc.Alternates[0])
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			before := s.PollTime()
			if err := d.DownloadAt(ctx, 0x08000000, data, nil); err != nil {
				b.Fatal(err)
			}
			elapsed += time.Since(start)
			ceiling += s.PollTime() - before
		}
		report(b, elapsed/time.Duration(b.N), ceiling/time.Duration(b.N))
	})
	b.Run("zephyr-slot1", func(b *testing.B) {
		ctx := context.Background()
		var elapsed, ceiling time.Duration
		for b.Loop() {
			board, err := New(Config{SlotSize: size + 128<<10})
			if err != nil {
				b.Fatal(err)
			}
			z := NewZephyrDFU(board, ZephyrDFUConfig{})
			c, _ := z.Attach()
			ctl, desc, err := dfu.EnterDFU(ctx, c, z.Find)
			if err != nil {
				b.Fatal(err)
			}
			d, err := dfu.Open(ctx, ctl, desc.Alternates[1])
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			before := z.PollTime()
			if err := d.Download(ctx, data, nil); err != nil {
				b.Fatal(err)
			}
			elapsed += time.Since(start)
			ceiling += z.PollTime() - before
			board.Close()
		}
		report(b, elapsed/time.Duration(b.N), ceiling/time.Duration(b.N))
	})
}
