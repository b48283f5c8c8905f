package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"trustforge/crypto/keys"
	"trustforge/crypto/mcuimg"
	"trustforge/devices/sim"
)

// testBoard is a simulated board on a real pseudo-terminal: the CLI opens
// its path as it opens any serial port. No test opens a port of the machine.
type testBoard struct {
	*sim.Board
	path   string
	signer *keys.PrivateKey
	dir    string
}

func startBoard(t *testing.T, cfg sim.Config) *testBoard {
	t.Helper()
	signer, err := keys.Generate(rand.Reader, keys.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	cfg.BootKeys = append(cfg.BootKeys, signer.Public())
	b, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := sim.OpenPTY()
	if err != nil {
		b.Close()
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.Serve(ctx, p); close(done) }()
	t.Cleanup(func() {
		cancel()
		p.Close()
		<-done
		b.Close()
	})
	return &testBoard{Board: b, path: p.Path(), signer: signer, dir: t.TempDir()}
}

type imgSpec struct {
	version string
	counter uint32
	signer  *keys.PrivateKey // nil: the board's signer
	size    int
}

// image signs a test image and writes it to a file; it returns the path and
// the image hash.
func (tb *testBoard) image(t *testing.T, s imgSpec) (string, []byte) {
	t.Helper()
	v, err := mcuimg.ParseVersion(s.version)
	if err != nil {
		t.Fatal(err)
	}
	if s.signer == nil {
		s.signer = tb.signer
	}
	if s.size == 0 {
		s.size = 24 << 10
	}
	payload := make([]byte, s.size)
	rand.Read(payload)
	img, err := mcuimg.Sign(payload, &mcuimg.SignOptions{
		Key: s.signer, Version: v, HeaderSize: 0x200, PadHeader: true, SecurityCounter: &s.counter,
	})
	if err != nil {
		t.Fatal(err)
	}
	parsed, _ := mcuimg.Parse(img)
	_, hash, _ := parsed.Hash()
	path := filepath.Join(tb.dir, s.version+".bin")
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, hash
}

// program flashes a factory image of version v with security counter n.
func (tb *testBoard) program(t *testing.T, v string, n uint32) {
	t.Helper()
	path, _ := tb.image(t, imgSpec{version: v, counter: n})
	img, _ := os.ReadFile(path)
	if err := tb.Program(img); err != nil {
		t.Fatal(err)
	}
}

// device runs `trustforge device --port <board> args...`.
func (tb *testBoard) device(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	argv := append([]string{"device", "--port", tb.path}, args...)
	if !strings.Contains(strings.Join(args, " "), "--timeout") {
		argv = append(argv, "--timeout", "1s")
	}
	code = Run(context.Background(), argv, Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut})
	return code, out.String(), errOut.String()
}

func (tb *testBoard) mustDevice(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := tb.device(t, args...)
	if code != 0 {
		t.Fatalf("device %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func wantContains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not say %q:\n%s", what, w, got)
		}
	}
}

func TestDeviceUpdateFlow(t *testing.T) {
	tb := startBoard(t, sim.Config{Baud: 1_000_000})
	tb.program(t, "1.0.0", 1)
	path, hash := tb.image(t, imgSpec{version: "1.1.0", counter: 2})

	out := tb.mustDevice(t, "image", "upload", path)
	wantContains(t, "upload", out, "version 1.1.0", "in slot 1", "image test")
	tb.mustDevice(t, "image", "test", shortHash(hash)) // a hash prefix will do

	// Test, reset: the new version runs.
	out = tb.mustDevice(t, "reset")
	wantContains(t, "test reset", out, "running 1.1.0", "under test")
	if r := tb.Running(); r.Version.Minor != 1 || r.Confirmed {
		t.Fatalf("the board runs %+v", r)
	}
	// Reset without confirming: it reverts.
	out = tb.mustDevice(t, "reset")
	wantContains(t, "revert reset", out, "reverted to 1.0.0", "was not confirmed")
	if r := tb.Running(); r.Version.Minor != 0 || !r.Confirmed {
		t.Fatalf("after the revert the board runs %+v", r)
	}
	// Test, reset, confirm, reset: it stays.
	tb.mustDevice(t, "image", "test", hexString(hash))
	tb.mustDevice(t, "reset")
	out = tb.mustDevice(t, "image", "confirm")
	wantContains(t, "confirm", out, "version 1.1.0", "active, confirmed")
	out = tb.mustDevice(t, "reset")
	wantContains(t, "final reset", out, "running 1.1.0")
	if r := tb.Running(); r.Version.Minor != 1 || !r.Confirmed {
		t.Fatalf("after confirming the board runs %+v", r)
	}
	out = tb.mustDevice(t, "image", "list")
	wantContains(t, "list", out, "slot 0  version 1.1.0", "[active, confirmed]", "slot 1  version 1.0.0")
}

// TestDeviceBadImages checks that a tampered, wrongly signed or rolled-back
// image never runs, that the old one keeps running, and that each case is
// explained.
func TestDeviceBadImages(t *testing.T) {
	tb := startBoard(t, sim.Config{Baud: 1_000_000})
	tb.program(t, "1.0.0", 1)
	stranger, err := keys.Generate(rand.Reader, keys.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	trusted := filepath.Join(tb.dir, "trusted.pem")
	os.WriteFile(trusted, tb.signer.Public().MarshalPEM(), 0o644)

	tampered, tamperedHash := tb.image(t, imgSpec{version: "1.5.0", counter: 2})
	data, _ := os.ReadFile(tampered)
	data[0x200+1000] ^= 0x40
	os.WriteFile(tampered, data, 0o644)
	foreign, foreignHash := tb.image(t, imgSpec{version: "1.6.0", counter: 2, signer: stranger})
	old, oldHash := tb.image(t, imgSpec{version: "0.9.0", counter: 0})

	// The host refuses what it can check itself.
	code, _, errOut := tb.device(t, "image", "upload", tampered)
	if code != 1 {
		t.Errorf("uploading a tampered image: exit %d", code)
	}
	wantContains(t, "tampered upload", errOut, "fails its own check", "hash does not match", "--force")
	code, _, errOut = tb.device(t, "image", "upload", "--key", trusted, foreign)
	if code != 1 {
		t.Errorf("uploading a foreign image with --key: exit %d", code)
	}
	wantContains(t, "foreign upload", errOut, "not signed by the given key")

	// Forced through, the board refuses them at boot.
	tests := []struct {
		name, path string
		hash       []byte
		upload     []string
		why        string
	}{
		{"tampered", tampered, tamperedHash, []string{"--force"}, "hash does not match"},
		{"wrongly signed", foreign, foreignHash, nil, "not signed by the given key"},
		{"rolled back", old, oldHash, nil, "security counter 0 is lower than the board's 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut := tb.mustDevice(t, append(append([]string{"image", "upload"}, tt.upload...), tt.path)...), ""
			_ = errOut
			tb.mustDevice(t, "image", "test", hexString(tt.hash))
			code, out, errOut := tb.device(t, "reset")
			if code != 1 {
				t.Errorf("reset onto a bad image: exit %d, stdout %s", code, out)
			}
			wantContains(t, "reset", errOut, "the board refused the image", "did not boot", "still runs 1.0.0", tt.why)
			if r := tb.Running(); r.Version.Major != 1 || r.Version.Minor != 0 {
				t.Errorf("the board runs %+v, want 1.0.0", r)
			}
			out = tb.mustDevice(t, "image", "list")
			if strings.Contains(out, "slot 1") {
				t.Errorf("the refused image is still listed:\n%s", out)
			}
		})
	}
}

// TestDeviceUploadResumes pulls the link at several points of an upload;
// running the same command again finishes from the board's offset, and the
// result boots.
func TestDeviceUploadResumes(t *testing.T) {
	for _, after := range []int64{3000, 20000, 45000} {
		t.Run("", func(t *testing.T) {
			tb := startBoard(t, sim.Config{Baud: 1_000_000, BufSize: 1024})
			tb.program(t, "1.0.0", 1)
			path, hash := tb.image(t, imgSpec{version: "1.1.0", counter: 2, size: 48 << 10})
			if err := tb.Inject(sim.Fault{Kind: sim.DropLink, After: after}); err != nil {
				t.Fatal(err)
			}
			code, _, errOut := tb.device(t, "--timeout", "200ms", "--retries", "1", "image", "upload", path)
			if code != 1 {
				t.Fatalf("upload over a pulled link: exit %d", code)
			}
			wantContains(t, "interrupted upload", errOut, "no answer from the board", "run the same command again")
			tb.RestoreLink()
			out := tb.mustDevice(t, "image", "upload", path)
			wantContains(t, "second upload", out, "resumed at", "in slot 1")
			if strings.Contains(out, "resumed at 0.0 KiB") {
				t.Errorf("the upload started over:\n%s", out)
			}
			tb.mustDevice(t, "image", "test", hexString(hash))
			out = tb.mustDevice(t, "reset")
			wantContains(t, "reset", out, "running 1.1.0")
		})
	}
}

func TestDeviceCommands(t *testing.T) {
	tb := startBoard(t, sim.Config{})
	tb.program(t, "2.0.0", 0)
	tests := []struct {
		args  []string
		code  int
		wants []string
	}{
		{[]string{"echo", "hi there"}, 0, []string{"hi there"}},
		{[]string{"echo"}, 0, []string{"hello"}},
		{[]string{"params"}, 0, []string{"buf_size 2048", "buf_count 4"}},
		{[]string{"info"}, 0, []string{"Zephyr", "MCUboot (swap without scratch)", "4 x 2048 bytes"}},
		{[]string{"image", "list"}, 0, []string{"version 2.0.0", "[active, confirmed]"}},
		{[]string{"image", "erase"}, 0, []string{"slot 1 erased"}},
		{[]string{"image", "erase", "--slot", "0"}, 1, []string{"the board's current state does not allow this (MGMT_ERR_EBADSTATE)"}},
		{[]string{"--smp-v2", "image", "erase", "--slot", "0"}, 1, []string{"no free slot", "(IMG_MGMT_ERR_NO_FREE_SLOT)"}},
		{[]string{"--smp-v2", "image", "test", strings.Repeat("ab", 32)}, 1, []string{"no image on the board has that hash (IMG_MGMT_ERR_HASH_NOT_FOUND)"}},
		{[]string{"image", "test", "zz"}, 2, []string{"not an image hash"}},
		{[]string{"image", "test", "abcdef"}, 1, []string{"no image on the board has a hash starting abcdef"}},
		{[]string{"image", "upload", filepath.Join(tb.dir, "missing.bin")}, 1, []string{"no such file"}},
		{[]string{"image"}, 2, []string{"image needs a command"}},
		{[]string{"frobnicate"}, 2, []string{"unknown device command"}},
		{[]string{"reset", "now"}, 2, []string{"takes no arguments"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := tb.device(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errOut)
			}
			wantContains(t, "output", out+errOut, tt.wants...)
		})
	}

	var out, errOut bytes.Buffer
	env := Env{Stdout: &out, Stderr: &errOut}
	if code := Run(context.Background(), []string{"device", "echo"}, env); code != 2 || !strings.Contains(errOut.String(), "--port") {
		t.Errorf("device without --port: exit %d, %s", code, errOut.String())
	}
	errOut.Reset()
	if code := Run(context.Background(), []string{"device", "--port", filepath.Join(tb.dir, "nope"), "echo"}, env); code != 1 || !strings.Contains(errOut.String(), "no such file") {
		t.Errorf("device on a missing port: exit %d, %s", code, errOut.String())
	}
}

func TestDeviceOverWebSocket(t *testing.T) {
	b, err := sim.New(sim.Config{Baud: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	srv := httptest.NewServer(sim.NewHandler(b))
	defer srv.Close()
	var out, errOut bytes.Buffer
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	code := Run(context.Background(), []string{"device", "--port", url, "echo", "via ws"}, Env{Stdout: &out, Stderr: &errOut})
	if code != 0 || out.String() != "via ws\n" {
		t.Errorf("exit %d, stdout %q, stderr %s", code, out.String(), errOut.String())
	}
}

func TestProgressLine(t *testing.T) {
	got := progressLine(smpProgress(128<<10, 256<<10, 8<<10))
	for _, w := range []string{"[###############---------------]", " 50%", "128.0/256.0 KiB", "8.0 KiB/s", "ETA 16s"} {
		if !strings.Contains(got, w) {
			t.Errorf("progress line %q lacks %q", got, w)
		}
	}
}

func hexString(b []byte) string { return strings.ToLower(strings.TrimSpace(string(hexBytes(b)))) }

// TestDeviceResetReconnects resets a board whose port goes away with the
// reset and comes back, as a USB board re-enumerates.
func TestDeviceResetReconnects(t *testing.T) {
	b, err := sim.New(sim.Config{Baud: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	img, err := mcuimg.Sign(make([]byte, 2000), &mcuimg.SignOptions{Version: mcuimg.Version{Major: 3}, HeaderSize: 0x200, PadHeader: true})
	if err != nil {
		t.Fatal(err)
	}
	b.Program(img)
	h := sim.NewHandler(b)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		boots := b.Running().Boots
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		go func() {
			for ctx.Err() == nil && b.Running().Boots == boots {
				time.Sleep(time.Millisecond)
			}
			cancel() // the board reset: its port goes away
		}()
		h.ServeHTTP(w, r.WithContext(ctx))
	}))
	defer srv.Close()
	var out, errOut bytes.Buffer
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	code := Run(context.Background(), []string{"device", "--port", url, "--timeout", "500ms", "reset"}, Env{Stdout: &out, Stderr: &errOut})
	if code != 0 || !strings.Contains(out.String(), "board reset: running 3.0.0") {
		t.Errorf("exit %d, stdout %q, stderr %s", code, out.String(), errOut.String())
	}
}
