// Package esptooljs runs Espressif's own browser flasher, esptool-js 0.7.0
// from npm, in headless Chromium against trustforge's simulated ESP32-C3
// through the Web Serial shim: a peer client that keeps the simulator's ROM
// loader honest. The test fetches the package with npm on first use and
// keeps it in the user cache directory.
package esptooljs

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"trustforge/crypto/espimg"
	"trustforge/devices/sim"
	"trustforge/e2e/driver"
)

// version is the esptool-js release the test runs.
const version = "0.7.0"

// bundle returns esptool-js's self-contained ES module (bundle.js), fetched
// with `npm pack` into the user cache on first use.
func bundle(t *testing.T) []byte {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "trustforge", "esptool-js-"+version)
	path := filepath.Join(dir, "package", "bundle.js")
	if b, err := os.ReadFile(path); err == nil {
		return b
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm not installed (apt-get install -y npm): cannot fetch esptool-js")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "pack", "--silent", "esptool-js@"+version, "--pack-destination", dir)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("npm pack esptool-js@%s: %v\n%s", version, err, out)
	}
	tgz := filepath.Join(dir, "esptool-js-"+version+".tgz")
	if err := untar(tgz, dir); err != nil {
		t.Fatal(err)
	}
	var pkg struct{ Version string }
	pj, _ := os.ReadFile(filepath.Join(dir, "package", "package.json"))
	if json.Unmarshal(pj, &pkg) != nil || pkg.Version != version {
		t.Fatalf("npm gave esptool-js %q, want %s", pkg.Version, version)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func untar(tgz, dir string) error {
	f, err := os.Open(tgz)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean(h.Name)
		if h.Typeflag != tar.TypeReg || strings.HasPrefix(name, "..") || filepath.IsAbs(name) {
			continue
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		b, err := io.ReadAll(io.LimitReader(tr, 64<<20))
		if err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
}

const page = `<!doctype html><meta charset="utf-8"><title>esptool-js peer</title><link rel="icon" href="data:,">
<script type="module">
import { ESPLoader, Transport } from "/bundle.js";
window.esptoolFlash = async (b64, address, md5hex) => {
  const log = [];
  const terminal = { clean() {}, writeLine(s) { log.push(s); }, write(s) { log.push(s); } };
  const [port] = await navigator.serial.getPorts();
  const transport = new Transport(port, false);
  const loader = new ESPLoader({ transport, baudrate: 115200, romBaudrate: 115200, terminal });
  await loader.detectChip("default_reset");
  const chip = await loader.chip.getChipDescription(loader);
  const mac = await loader.chip.readMac(loader);
  const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  await loader.writeFlash({
    fileArray: [{ data, address }], flashSize: "keep", flashMode: "keep", flashFreq: "keep",
    eraseAll: false, compress: true, calculateMD5Hash: () => md5hex,
  });
  await transport.disconnect();
  return { chip, mac, stub: loader.IS_STUB, log: log.join("\n") };
};
window.esptoolReady = true;
</script>`

// TestEsptoolJSFlashesTheSimulator has esptool-js detect the simulated
// ESP32-C3 (classic DTR/RTS reset through the shim, chip magic and
// description from the eFuses, MAC) and write an app with its compressed
// ROM-loader path, which it verifies with SPI_FLASH_MD5. The flasher stub
// is not run: the simulator is a ROM loader.
func TestEsptoolJSFlashesTheSimulator(t *testing.T) {
	if _, err := driver.FindChromium(""); err != nil {
		t.Skip(err)
	}
	js := bundle(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, page)
		case "/bundle.js":
			w.Header().Set("Content-Type", "text/javascript")
			w.Write(js)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	br, err := driver.StartBrowser(ctx, driver.BrowserOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	tab, tcancel, err := br.NewTab()
	if err != nil {
		t.Fatal(err)
	}
	defer tcancel()
	tab, tcancel2 := context.WithTimeout(tab, 4*time.Minute)
	defer tcancel2()
	watch := driver.WatchErrors(tab)

	board := sim.NewESPBoard(sim.ESPConfig{RunAtStart: true, Log: testWriter{t}})
	if _, err := driver.InstallSerialShim(tab, driver.ChooseFirst, driver.ShimPort{
		ID: "esp32c3", VendorID: 0x10c4, ProductID: 0xea60, Granted: true, Device: board,
	}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	ready := `new Promise((resolve) => { const f = () => window.esptoolReady ? resolve(true) : setTimeout(f, 20); f(); })`
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](ready, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	}
	app, err := espimg.Build(espimg.BuildOptions{Chip: espimg.ESP32C3, MinRev: 3, Entry: 0x42000020},
		espimg.Segment{Addr: 0x3C000020, Data: espimg.MarshalAppDesc(espimg.AppDesc{Version: "7.0.0", ProjectName: "peer"})},
		espimg.Segment{Addr: 0x42000020, Data: code()})
	if err != nil {
		t.Fatal(err)
	}
	// The ROM loader answers SPI_FLASH_MD5 with the digest in 32 ASCII hex
	// digits (the stub sends 16 raw bytes); esptool-js 0.7.0 hex-encodes
	// whatever bytes it gets, so against a ROM loader it compares with the
	// hex of those ASCII digits. The expected value is given in that form.
	sum := md5.Sum(padTo4(app))
	romForm := hex.EncodeToString([]byte(hex.EncodeToString(sum[:])))
	type result struct {
		Chip, MAC, Log string
		Stub           bool
	}
	expr := fmt.Sprintf("esptoolFlash(%q, 0x10000, %q)", base64.StdEncoding.EncodeToString(app), romForm)
	res, err := chromedp.Run(tab, chromedp.Evaluate[result](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		got := board.FlashContents(0x10000, len(app))
		for i := range got {
			if got[i] != app[i] {
				t.Logf("flash differs from the app first at %#x of %#x", i, len(app))
				break
			}
		}
		t.Fatalf("esptool-js: %v", err)
	}
	t.Logf("esptool-js log:\n%s", res.Log)
	if !strings.Contains(res.Chip, "ESP32-C3") {
		t.Errorf("esptool-js detected %q", res.Chip)
	}
	if res.MAC != "58:cf:79:00:00:01" {
		t.Errorf("esptool-js read MAC %q", res.MAC)
	}
	if res.Stub {
		t.Error("esptool-js ran a stub")
	}
	if !strings.Contains(res.Log, "Hash of data verified") {
		t.Errorf("esptool-js did not verify the MD5:\n%s", res.Log)
	}
	if got := board.FlashContents(0x10000, len(app)); string(got) != string(app) {
		t.Error("the app is not in the simulated flash")
	}
	if err := watch.Err(); err != nil {
		t.Error(err)
	}
}

func padTo4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0xFF)
	}
	return b
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// code is 48 KiB of app that compresses as firmware does, about half.
func code() []byte {
	r := rand.New(rand.NewPCG(17, 3))
	b := make([]byte, 48<<10)
	for i := range b {
		if i%64 < 32 {
			b[i] = byte(r.Uint32())
		} else {
			b[i] = byte(i % 11)
		}
	}
	return b
}
