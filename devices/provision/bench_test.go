package provision_test

import (
	"context"
	"testing"

	"trustforge/devices/provision"
	"trustforge/devices/sim"
)

// BenchmarkProvision provisions a simulated board on a 1 000 000 baud
// UART per iteration (a fresh board each time, the issuer prepared once as
// on a production line) and reports the console's
// own share: checking the request, issuing and verifying (console-ms/op),
// against the time spent waiting on the board (board-ms/op).
func BenchmarkProvision(b *testing.B) {
	ctx := context.Background()
	ca, profile := newCA(b, nil)
	is, err := ca.Prepare(ctx, profile)
	if err != nil {
		b.Fatal(err)
	}
	var console, board float64
	for b.Loop() {
		b.StopTimer()
		_, c := newSimBoard(b, sim.Config{Baud: 1_000_000})
		b.StartTimer()
		res, err := provision.Provision(ctx, provision.NewClient(c), provision.Plan{CA: is, Profile: profile})
		if err != nil {
			b.Fatal(err)
		}
		console += float64(res.Console.Microseconds()) / 1000
		board += float64(res.Board.Microseconds()) / 1000
	}
	b.ReportMetric(console/float64(b.N), "console-ms/op")
	b.ReportMetric(board/float64(b.N), "board-ms/op")
}
