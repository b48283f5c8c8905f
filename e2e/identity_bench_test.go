package e2e

import (
	"crypto/rand"
	"sort"
	"strconv"
	"testing"
	"time"

	"trustforge/crypto/keys"
)

// BenchmarkProvisionBrowser provisions simulated boards on 1 000 000 baud
// lines one after the other in one console tab, as a production line does,
// each registered and locked: one board per iteration (at most 16; run it
// with -benchtime 8x). It reports the median time per board from the click
// on Provision to the result shown (total-ms/op), the time spent on the
// link and the board (board-ms/op) and the console's own work in WASM —
// checking the request, issuing, verifying the chain — (console-ms/op).
// The goal is a console share under 50 ms, so a line is bound by the link.
func BenchmarkProvisionBrowser(b *testing.B) {
	const maxBoards = 16
	if env.skip != "" {
		b.Skipf("chromium missing: %s", env.skip)
	}
	product := env.accounts.newProduct(b)
	ctx, _ := newTab(b)
	dl := catchDownloads(b, ctx)
	bootKey, err := keys.Generate(nil, keys.Ed25519)
	if err != nil {
		b.Fatal(err)
	}
	uids := make([][]byte, maxBoards)
	for i := range uids {
		uids[i] = make([]byte, 12)
		rand.Read(uids[i])
	}
	identityBoards(b, ctx, bootKey, uids...)
	setUpIdentity(b, ctx, dl, product, bootKey)
	waitFor(b, ctx, "#serial-baud")
	choose(b, ctx, "provision-product", product)

	var total, board, console []float64
	n := 0
	b.ResetTimer()
	for b.Loop() {
		if n == maxBoards {
			b.Fatalf("more than %d iterations: run with -benchtime 8x", maxBoards)
		}
		b.StopTimer()
		connectPort(b, ctx, n)
		b.StartTimer()
		start := time.Now()
		provisionRun(b, ctx, n+1)
		took := time.Since(start)
		n++
		if msg := textOfAny(b, ctx, "provision-error"); msg != "" {
			b.Fatalf("board %d: %s", n, msg)
		}
		c, _ := strconv.ParseFloat(attr(b, ctx, "#provision-result", "data-console-ms"), 64)
		bd, _ := strconv.ParseFloat(attr(b, ctx, "#provision-result", "data-board-ms"), 64)
		total, board, console = append(total, float64(took.Microseconds())/1000), append(board, bd), append(console, c)
	}
	b.StopTimer()
	b.ReportMetric(medianOf(total), "total-ms/op")
	b.ReportMetric(medianOf(board), "board-ms/op")
	b.ReportMetric(medianOf(console), "console-ms/op")
	if len(console) > 0 {
		b.ReportMetric(console[0], "first-console-ms")
	}
}

func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}
