package e2e

import (
	"os/exec"
	"strings"
	"testing"
)

// BenchmarkSignaturesChromium reports what one COSE_Sign1 signature and
// one verification cost the console in Chromium, in Go compiled to
// WebAssembly, against native Go on the same machine (medians of three
// runs of crypto/cose's BenchmarkSign1 on each side, in microseconds): the
// figures behind leaving ECDSA P-256 and Ed25519 in Go rather than handing
// them to WebCrypto, since the console signs or verifies once per release,
// production package, ticket or board.
func BenchmarkSignaturesChromium(b *testing.B) {
	const runs = "3"
	var browser map[string]float64
	for b.Loop() {
		out, code := runWasmTest(b, "./crypto/cose", "-test.run", "^$", "-test.bench", "^BenchmarkSign1$",
			"-test.benchtime", "200x", "-test.count", runs)
		if code != 0 {
			b.Fatalf("benchmark failed in Chromium (exit %d):\n%s", code, out)
		}
		browser = benchMedians(b, out, 1e3, sign1Name)
	}
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", "^BenchmarkSign1$", "-benchtime", "200x", "-count", runs, "./crypto/cose")
	cmd.Dir = env.root
	native, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("native benchmark: %v\n%s", err, native)
	}
	nat := benchMedians(b, string(native), 1e3, sign1Name)
	for _, name := range []string{"ES256/sign", "ES256/verify", "EdDSA/sign", "EdDSA/verify"} {
		if browser[name] == 0 || nat[name] == 0 {
			b.Fatalf("no figure for %s: Chromium %v, native %v", name, browser, nat)
		}
		metric := strings.ReplaceAll(strings.ToLower(name), "/", "-")
		b.ReportMetric(browser[name], "chromium-"+metric+"-us")
		b.ReportMetric(nat[name], "native-"+metric+"-us")
	}
	b.ReportMetric(0, "ns/op")
}

// sign1Name names BenchmarkSign1's lines by their sub-benchmark.
func sign1Name(bench string) (string, bool) {
	name, ok := strings.CutPrefix(bench, "BenchmarkSign1/")
	return name, ok
}
