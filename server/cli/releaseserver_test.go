package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"trustforge/crypto/mcuimg"
	"trustforge/server/internal/testbundle"
)

// serverProc is a `trustforge serve` subprocess.
type serverProc struct {
	cmd   *exec.Cmd
	url   string
	enrol string // the enrolment secret, when the server printed one
}

var (
	consoleAt = regexp.MustCompile(`console at (http://[0-9.:]+)/`)
	enrolTok  = regexp.MustCompile(`/enrol#token=(tfe_[A-Za-z0-9_-]+)`)
)

// buildTrustforge builds the binary once per test into dir.
func buildTrustforge(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "trustforge")
	out, err := exec.Command("go", "build", "-o", bin, "trustforge/server/cmd/trustforge").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func startServer(t *testing.T, bin, data, web string) *serverProc {
	t.Helper()
	// A first start prints an enrolment link; it may reach us on stderr
	// after the address reaches us on stdout, so wait for both.
	_, err := os.Stat(filepath.Join(data, "trustforge.db"))
	fresh := errors.Is(err, os.ErrNotExist)
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", data, "--web", web)
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProc{cmd: cmd}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 100)
	scan := func(r io.Reader) {
		s := bufio.NewScanner(r)
		for s.Scan() {
			lines <- s.Text()
		}
	}
	go scan(stdout)
	go scan(stderr)
	deadline := time.After(30 * time.Second)
	for p.url == "" || fresh && p.enrol == "" {
		select {
		case l := <-lines:
			if m := enrolTok.FindStringSubmatch(l); m != nil {
				p.enrol = m[1]
			}
			if m := consoleAt.FindStringSubmatch(l); m != nil {
				p.url = m[1]
			}
		case <-deadline:
			t.Fatal("server did not start")
		}
	}
	go func() {
		for range lines {
		}
	}()
	return p
}

func (p *serverProc) call(t *testing.T, method, path, token string, in any, want int, out any) {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.url+path, body)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		json.Unmarshal(b, out)
	}
}

// runCLIOut runs the built binary, which must succeed, and returns its stdout.
func runCLIOut(t *testing.T, bin string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("trustforge %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// runCLI runs the built binary and returns its stdout and stderr.
func runCLI(t *testing.T, bin string, wantOK bool, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if (err == nil) != wantOK {
		t.Fatalf("trustforge %s: err %v, want ok=%v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, wantOK, stdout.String(), stderr.String())
	}
	return stdout.String() + stderr.String()
}

// TestReleaseServerCrashAndCLI runs the real binary: it sets up a server,
// publishes a bundle made by `trustforge release create`, kills the server
// with SIGKILL in the middle of a slow upload, restarts it, and checks that
// no partial release is listed, the audit log verifies, and the upload can
// be repeated; then pulls the release back with the CLI.
func TestReleaseServerCrashAndCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs servers")
	}
	dir := t.TempDir()
	bin := buildTrustforge(t, dir)
	data, web := filepath.Join(dir, "data"), filepath.Join(dir, "web")
	os.MkdirAll(web, 0o755)
	os.WriteFile(filepath.Join(web, "app.wasm"), []byte("\x00asm\x01\x00\x00\x00"), 0o644)

	srv := startServer(t, bin, data, web)
	if srv.enrol == "" {
		t.Fatal("first start printed no enrolment link")
	}
	srv.call(t, "POST", "/api/enrol", "", map[string]string{"token": srv.enrol, "name": "root", "password": "root password 1"}, 201, nil)
	// An operator with the data directory issues tokens without a browser.
	admin := strings.TrimSpace(runCLIOut(t, bin, "admin", "token", "--data", data, "--user", "root", "--name", "setup"))
	srv.call(t, "POST", "/api/users", admin, map[string]string{"name": "ci", "role": "engineer"}, 201, nil)
	var tk struct{ Token string }
	srv.call(t, "POST", "/api/users/ci/tokens", admin, map[string]string{"name": "pipeline"}, 201, &tk)
	eng := tk.Token

	// Keys and a bundle made with the CLI, as an engineer would.
	runCLI(t, bin, true, "keygen", "-t", "ed25519", "-k", filepath.Join(dir, "sign.pem"), "-e", filepath.Join(dir, "sign.pub.pem"))
	pub, _ := os.ReadFile(filepath.Join(dir, "sign.pub.pem"))
	srv.call(t, "POST", "/api/products", admin, map[string]any{"name": "sensor", "channels": []string{"beta", "stable"}}, 201, nil)
	srv.call(t, "POST", "/api/products/sensor/keys", admin, map[string]string{"public_key": string(pub)}, 201, nil)
	id, _ := age.GenerateX25519Identity()
	mkBundle := func(version string, size int) string {
		v, _ := mcuimg.ParseVersion(version)
		payload := bytes.Repeat([]byte(testbundle.Marker), size/len(testbundle.Marker)+1)[:size]
		img, err := mcuimg.Sign(payload, &mcuimg.SignOptions{Version: v, PadHeader: true})
		if err != nil {
			t.Fatal(err)
		}
		imgPath := filepath.Join(dir, "app-"+version+".bin")
		os.WriteFile(imgPath, img, 0o644)
		out := filepath.Join(dir, "sensor-"+version+".tfb")
		runCLI(t, bin, true, "release", "create", "-k", filepath.Join(dir, "sign.pem"), "-r", id.Recipient().String(),
			"--product", "sensor", "--channel", "beta", imgPath, "-o", out)
		return out
	}
	v1 := mkBundle("1.0.0", 64<<10)
	push := func(path string, ok bool) string {
		return runCLI(t, bin, ok, "release", "push", "--server", srv.url, "--token", eng, path)
	}
	push(v1, true)

	// The same file with one byte changed is refused.
	orig, _ := os.ReadFile(v1)
	v2 := mkBundle("1.1.0", 64<<10)
	b2, _ := os.ReadFile(v2)
	for _, off := range []int{20, 200, len(b2) / 2, len(b2) - 1} {
		bad := bytes.Clone(b2)
		bad[off] ^= 0x80
		p := filepath.Join(dir, "bad.tfb")
		os.WriteFile(p, bad, 0o644)
		push(p, false)
	}
	if out := push(v1, false); !strings.Contains(out, "exists") {
		t.Errorf("re-push of v1: %s", out)
	}

	// A slow upload of a large bundle, killed mid-payload.
	big := mkBundle("2.0.0", 24<<20)
	bigBytes, _ := os.ReadFile(big)
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", srv.url+"/api/releases", pr)
	req.Header.Set("Authorization", "Bearer "+eng)
	req.ContentLength = int64(len(bigBytes))
	go http.DefaultClient.Do(req)
	pw.Write(bigBytes[:len(bigBytes)/2])
	waitFor(t, func() bool { return tmpBytes(filepath.Join(data, "blobs", "tmp")) > 1<<20 })
	srv.cmd.Process.Signal(syscall.SIGKILL)
	srv.cmd.Wait()
	pw.CloseWithError(fmt.Errorf("server killed"))

	srv = startServer(t, bin, data, web)
	if srv.enrol != "" {
		t.Error("restarted server with accounts printed an enrolment link")
	}
	out := runCLI(t, bin, true, "release", "list", "--server", srv.url, "--token", eng, "--yanked")
	if strings.Contains(out, "2.0.0") || !strings.Contains(out, "1.0.0") {
		t.Errorf("after the crash, list =\n%s", out)
	}
	if n := tmpBytes(filepath.Join(data, "blobs", "tmp")); n != 0 {
		t.Errorf("%d bytes of the interrupted upload left in blobs/tmp", n)
	}
	out = runCLI(t, bin, true, "audit", "verify", "--data", data)
	if !strings.Contains(out, "intact") {
		t.Errorf("audit verify: %s", out)
	}
	push(big, true)
	out = runCLI(t, bin, true, "release", "list", "--server", srv.url, "--token", eng, "--product", "sensor")
	if !strings.Contains(out, "2.0.0") {
		t.Errorf("repeated upload not listed:\n%s", out)
	}

	// A station pulls v1 by ID and the latest beta; both verify and match.
	var sTok struct{ Token string }
	srv.call(t, "POST", "/api/users", admin, map[string]string{"name": "line1", "role": "station"}, 201, nil)
	srv.call(t, "POST", "/api/users/line1/tokens", admin, map[string]string{"name": "line"}, 201, &sTok)
	var list struct {
		Releases []struct{ ID, Version string }
	}
	srv.call(t, "GET", "/api/releases?version=1.0.0", eng, nil, 200, &list)
	got := filepath.Join(dir, "pulled.tfb")
	runCLI(t, bin, true, "release", "pull", "--server", srv.url, "--token", sTok.Token, "-o", got,
		"--trust", filepath.Join(dir, "sign.pub.pem"), list.Releases[0].ID)
	if b, _ := os.ReadFile(got); !bytes.Equal(b, orig) {
		t.Error("pulled bundle differs from the pushed one")
	}
	// Resume: a partial file from an interrupted pull is completed.
	latest := filepath.Join(dir, "latest.tfb")
	os.WriteFile(latest+".part", bigBytes[:1000], 0o644)
	etagOf := fmt.Sprintf(`"b-%s"`, releaseID(t, srv, eng, "2.0.0"))
	os.WriteFile(latest+".part.etag", []byte(etagOf), 0o644)
	runCLI(t, bin, true, "release", "pull", "--server", srv.url, "--token", sTok.Token, "-o", latest, "--latest", "sensor/beta")
	if b, _ := os.ReadFile(latest); !bytes.Equal(b, bigBytes) {
		t.Error("resumed pull differs from the pushed bundle")
	}
	// The exported log verifies too, and matches the data directory's.
	exp := filepath.Join(dir, "audit.jsonl")
	runCLI(t, bin, true, "audit", "export", "--server", srv.url, "--token", admin, "-o", exp)
	a := runCLI(t, bin, true, "audit", "verify", exp)
	b := runCLI(t, bin, true, "audit", "verify", "--data", data)
	if a != b {
		t.Errorf("export and data dir verify differently:\n%s\n%s", a, b)
	}

	// Nothing under --data holds the plaintext image or the signing key.
	priv, _ := os.ReadFile(filepath.Join(dir, "sign.pem"))
	privB64 := strings.Split(string(priv), "\n")[1]
	filepath.WalkDir(data, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(testbundle.Marker)) || bytes.Contains(b, []byte(privB64)) {
			t.Errorf("%s holds plaintext firmware or the private key", p)
		}
		return nil
	})
}

func releaseID(t *testing.T, srv *serverProc, token, version string) string {
	var list struct{ Releases []struct{ ID string } }
	srv.call(t, "GET", "/api/releases?version="+version, token, nil, 200, &list)
	if len(list.Releases) != 1 {
		t.Fatalf("%d releases of %s", len(list.Releases), version)
	}
	return list.Releases[0].ID
}

func tmpBytes(dir string) int64 {
	var n int64
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if fi, err := e.Info(); err == nil {
			n += fi.Size()
		}
	}
	return n
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("timed out waiting")
		case <-time.After(10 * time.Millisecond):
		}
	}
}
