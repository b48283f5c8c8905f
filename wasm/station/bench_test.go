package station

import (
	"context"
	"testing"

	"trustforge/crypto/production"
)

// BenchmarkProgram runs one board with a factory image through the whole
// station flow natively (read, ticket, provision, per-device encryption,
// upload of a 33 KiB image, test boot, check, confirm): the station's own
// time per board, without a paced UART.
func BenchmarkProgram(b *testing.B) {
	l := newLine(b, production.MaxCount, production.ImageDevice)
	s := l.station()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		_, c := board(b, true)
		b.StartTimer()
		if r := s.Program(context.Background(), c, "bench", nil); r.State != Done {
			b.Fatalf("%s: %s", r.State, r.Reason)
		}
	}
}
