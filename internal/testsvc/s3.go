package testsvc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// VersitygwVersion is the versitygw release `make test-deps` installs.
const VersitygwVersion = "v1.8.0"

// S3Bucket is a fresh bucket on the package's S3-compatible server.
type S3Bucket struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
	Bucket    string
	Dir       string // the directory versitygw keeps the bucket in
}

// URL returns the bucket as trustforge's --blobs flag takes it, with
// prefix as the key prefix ("" for none). Credentials are not part of it.
func (b S3Bucket) URL(prefix string) string {
	u := "s3://" + b.Bucket
	if prefix != "" {
		u += "/" + prefix
	}
	return u + "?endpoint=" + b.Endpoint
}

// Env returns the environment variables that carry the bucket's
// credentials to a trustforge process.
func (b S3Bucket) Env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + b.AccessKey, "AWS_SECRET_ACCESS_KEY=" + b.SecretKey}
}

// Client returns a client for the bucket's server.
func (b S3Bucket) Client() (*minio.Client, error) {
	return minio.New(strings.TrimPrefix(b.Endpoint, "http://"), &minio.Options{
		Creds: credentials.NewStaticV4(b.AccessKey, b.SecretKey, ""), Secure: false, Region: "us-east-1"})
}

// VersitygwPath finds the versitygw program: $TRUSTFORGE_VERSITYGW, $PATH,
// $GOBIN, then $GOPATH/bin (where `go install` puts it).
func VersitygwPath() (string, error) {
	if p := os.Getenv("TRUSTFORGE_VERSITYGW"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("$TRUSTFORGE_VERSITYGW: %w", err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	var dirs []string
	if d := os.Getenv("GOBIN"); d != "" {
		dirs = append(dirs, d)
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		for _, d := range filepath.SplitList(gp) {
			dirs = append(dirs, filepath.Join(d, "bin"))
		}
	}
	if out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output(); err == nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) == 2 {
			if lines[0] != "" {
				dirs = append(dirs, lines[0])
			}
			for _, d := range filepath.SplitList(lines[1]) {
				dirs = append(dirs, filepath.Join(d, "bin"))
			}
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "versitygw")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", errors.New("versitygw not found")
}

// gateway is a running versitygw on a directory.
type gateway struct {
	endpoint       string
	access, secret string
	dir            string
	cmd            *exec.Cmd
	done           chan struct{}
	n              atomic.Int64
}

var (
	gwOnce sync.Once
	gw     *gateway
	gwErr  error
)

// S3 returns a new, empty bucket on the package's versitygw, starting it
// on first use.
func S3(t testing.TB) S3Bucket {
	t.Helper()
	requireMain(t)
	if _, err := VersitygwPath(); err != nil {
		missing(t, "versitygw", "go install github.com/versity/versitygw/cmd/versitygw@"+VersitygwVersion)
	}
	b, err := NewS3Bucket()
	if err != nil {
		t.Fatalf("testsvc: %v", err)
	}
	return b
}

// NewS3Bucket is S3 for a TestMain: it returns an error where S3 fails or
// skips the test. Call Stop when the tests are done.
func NewS3Bucket() (S3Bucket, error) {
	bin, err := VersitygwPath()
	if err != nil {
		return S3Bucket{}, err
	}
	gwOnce.Do(func() {
		gw, gwErr = startGateway(bin)
		if gw != nil {
			onStop(gw.stop)
		}
	})
	if gwErr != nil {
		return S3Bucket{}, fmt.Errorf("starting versitygw: %w", gwErr)
	}
	b := S3Bucket{Endpoint: gw.endpoint, AccessKey: gw.access, SecretKey: gw.secret, Dir: gw.dir,
		Bucket: fmt.Sprintf("b%d-%d", os.Getpid(), gw.n.Add(1))}
	c, err := b.Client()
	if err != nil {
		return S3Bucket{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.MakeBucket(ctx, b.Bucket, minio.MakeBucketOptions{}); err != nil {
		return S3Bucket{}, fmt.Errorf("creating bucket: %w", err)
	}
	return b, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	l.Close()
	return addr, nil
}

func startGateway(bin string) (*gateway, error) {
	dir, err := os.MkdirTemp("", "trustforge-s3-")
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		g, err := tryGateway(bin, dir)
		if err == nil {
			return g, nil
		}
		lastErr = err
	}
	os.RemoveAll(dir)
	return nil, lastErr
}

func tryGateway(bin, dir string) (*gateway, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	g := &gateway{endpoint: "http://" + addr, access: "AK" + randomHex(8), secret: "SK" + randomHex(16),
		dir: filepath.Join(dir, "buckets"), done: make(chan struct{})}
	if err := os.MkdirAll(g.dir, 0o700); err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "versitygw.log"))
	if err != nil {
		return nil, err
	}
	g.cmd = exec.Command(bin, "--access", g.access, "--secret", g.secret, "--port", addr, "posix", g.dir)
	g.cmd.Stdout, g.cmd.Stderr = log, log
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := g.cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("versitygw: %w", err)
	}
	go func() { g.cmd.Wait(); log.Close(); close(g.done) }()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get(g.endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return g, nil
		}
		select {
		case <-g.done:
			b, _ := os.ReadFile(filepath.Join(dir, "versitygw.log"))
			return nil, fmt.Errorf("versitygw exited: %s", b)
		case <-time.After(30 * time.Millisecond):
		}
	}
	g.stop()
	return nil, errors.New("versitygw did not answer within a minute")
}

func (g *gateway) stop() {
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(10 * time.Second):
		g.cmd.Process.Kill()
		<-g.done
	}
	os.RemoveAll(filepath.Dir(g.dir))
}
