package api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"trustforge/internal/testsvc"
)

// Tests that run real `trustforge serve` processes on the shared back
// ends, to SIGKILL them.

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// trustforgeBin builds bin/trustforge once per test process.
func trustforgeBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "trustforge-bin-")
		if err != nil {
			binErr = err
			return
		}
		testsvc.OnStop(func() { os.RemoveAll(dir) })
		binPath = filepath.Join(dir, "trustforge")
		out, err := exec.Command("go", "build", "-o", binPath, "trustforge/server/cmd/trustforge").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// fakeWeb is a web directory with a stand-in console.
func fakeWeb(t *testing.T) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "app.wasm"), bytes.Repeat([]byte("\x00asm\x01\x00\x00\x00"), 100), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// proc is a `trustforge serve` process.
type proc struct {
	cmd *exec.Cmd
	url string
	out *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

var consoleAt = regexp.MustCompile(`console at (http://[0-9.:]+)/`)

// sharedArgs returns the flags and environment that put a trustforge
// process on the cluster's database and bucket.
func (c *cluster) sharedArgs(t *testing.T) ([]string, []string) {
	t.Helper()
	scaledMu.Lock()
	b := scaledDirs[c.key]
	scaledMu.Unlock()
	key := sha256.Sum256([]byte(c.key))
	kf := filepath.Join(t.TempDir(), "secret.key")
	if err := os.WriteFile(kf, []byte(hex.EncodeToString(key[:])+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"--db", b.db, "--blobs", b.bucket.URL("blobs"), "--secret-key-file", kf},
		append(os.Environ(), b.bucket.Env()...)
}

// startProc starts a serve process on the cluster's back ends.
func (c *cluster) startProc(t *testing.T) *proc {
	t.Helper()
	args, env := c.sharedArgs(t)
	cmd := exec.Command(trustforgeBin(t), append([]string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--web", fakeWeb(t)}, args...)...)
	cmd.Env = env
	return startProcCmd(t, cmd)
}

func startProcCmd(t *testing.T, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{cmd: cmd, out: new(lockedBuffer)}
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = &lockedWriter{p.out}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			p.out.mu.Lock()
			p.out.b.WriteString(s.Text() + "\n")
			p.out.mu.Unlock()
			if m := consoleAt.FindStringSubmatch(s.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case p.url = <-found:
	case <-time.After(2 * time.Minute):
		t.Fatalf("server did not start:\n%s", p.out)
	}
	return p
}

type lockedWriter struct{ l *lockedBuffer }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.l.mu.Lock()
	defer w.l.mu.Unlock()
	return w.l.b.Write(p)
}

// kill sends SIGKILL and waits for the process to die.
func (p *proc) kill() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

func (p *proc) do(method, path, token string, body io.Reader, hdr map[string]string) (*http.Response, error) {
	req, err := http.NewRequest(method, p.url+path, body)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if n := hdr["Content-Length"]; n != "" {
		// A streamed body with a known length: the server refuses
		// chunked request bodies.
		if req.ContentLength, err = strconv.ParseInt(n, 10, 64); err != nil {
			return nil, err
		}
	}
	return http.DefaultClient.Do(req)
}

// bucketState lists the committed blobs, other objects and multipart
// uploads in the cluster's bucket.
func (c *cluster) bucketState(t *testing.T) (blobs, other []string, uploads int) {
	t.Helper()
	scaledMu.Lock()
	b := scaledDirs[c.key].bucket
	scaledMu.Unlock()
	mc, err := b.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for o := range mc.ListObjects(ctx, b.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if strings.HasPrefix(o.Key, "blobs/sha256/") {
			blobs = append(blobs, filepath.Base(o.Key))
		} else {
			other = append(other, o.Key)
		}
	}
	for u := range mc.ListIncompleteUploads(ctx, b.Bucket, "", true) {
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		uploads++
	}
	return blobs, other, uploads
}
