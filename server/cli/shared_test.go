package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"trustforge/internal/testsvc"
)

func TestMain(m *testing.M) { testsvc.Main(m) }

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func secretKeyFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "secret.key")
	if err := os.WriteFile(p, []byte(strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// serve --db --blobs --blobs-redirect --metrics-addr: /healthz checks both stores, and
// /metrics answers on its own listener.
func TestServeShared(t *testing.T) {
	db, bucket := testsvc.PostgresURL(t), testsvc.S3(t)
	for _, kv := range bucket.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	web := t.TempDir()
	os.WriteFile(filepath.Join(web, "app.wasm"), bytes.Repeat([]byte("\x00asm\x01\x00\x00\x00"), 64), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errs syncBuf
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--web", web,
			"--db", db, "--blobs", bucket.URL("tf"), "--secret-key-file", secretKeyFile(t), "--blobs-redirect", "15m", "--metrics-addr", "127.0.0.1:0"},
			Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errs})
	}()
	defer func() {
		cancel()
		<-done
	}()
	consoleRe := regexp.MustCompile(`console at (http://[0-9.:]+)/ \(shared database and blob store\)`)
	metricsRe := regexp.MustCompile(`metrics at (http://[0-9.:]+/metrics)`)
	deadline := time.Now().Add(time.Minute)
	var base, metrics string
	for base == "" || metrics == "" {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s\n%s", out.String(), errs.String())
		}
		if m := consoleRe.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
		if m := metricsRe.FindStringSubmatch(out.String()); m != nil {
			metrics = m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var health struct {
		Status string
		Checks map[string]string
	}
	json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if resp.StatusCode != 200 || health.Checks["database"] != "ok" || health.Checks["blobs"] != "ok" {
		t.Errorf("healthz: %d %+v", resp.StatusCode, health)
	}
	if !strings.Contains(errs.String(), "/enrol#token=tfe_") {
		t.Errorf("no enrolment link on first start:\n%s", errs.String())
	}
	resp, err = http.Get(metrics)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `trustforge_http_requests_total{code="200",method="GET",route="GET /healthz"} 1`) {
		t.Errorf("metrics do not count the health check:\n%s", b)
	}
	if resp, err := http.Get(base + "/metrics"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), "trustforge_http_requests_total") {
			t.Error("metrics are served on the public listener")
		}
	}
}

func TestServeSharedFlagErrors(t *testing.T) {
	key := secretKeyFile(t)
	bad := filepath.Join(t.TempDir(), "bad.key")
	os.WriteFile(bad, []byte("not hex"), 0o600)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--db", "postgres://x@/y"}, "--db and --blobs go together"},
		{[]string{"--blobs", "s3://b"}, "--db and --blobs go together"},
		{[]string{"--db", "postgres://x@/y", "--blobs", "s3://b"}, "needs --secret-key-file"},
		{[]string{"--db", "postgres://x@/y", "--blobs", "s3://b", "--secret-key-file", bad}, "64 hex digits"},
		{[]string{"--db", "mysql://x", "--blobs", "s3://b", "--secret-key-file", key}, "want a postgres:// URL"},
		{[]string{"--blobs-redirect", "15m"}, "--blobs-redirect needs --blobs"},
		{[]string{"--db", "postgres://x@/y", "--blobs", "s3://b", "--secret-key-file", key, "--blobs-redirect", "200h"}, "from 1s to 7 days"},
		{[]string{"--db", "postgres://x@/y", "--blobs", "s3://b", "--secret-key-file", key, "--blobs-redirect", "-1m"}, "from 1s to 7 days"},
		{[]string{"--db", "postgres://nobody@/x?host=/nonexistent&connect_timeout=2", "--blobs", "s3://b", "--secret-key-file", key}, "connecting to PostgreSQL"},
	}
	for _, tt := range tests {
		var out, errs syncBuf
		code := Run(context.Background(), append([]string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir()}, tt.args...),
			Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errs})
		if code == 0 || !strings.Contains(errs.String(), tt.want) {
			t.Errorf("serve %v: exit %d, %q; want an error with %q", tt.args, code, errs.String(), tt.want)
		}
	}
	var errs syncBuf
	if code := Run(context.Background(), []string{"migrate", "--from", t.TempDir()}, Env{Stdout: io.Discard, Stderr: &errs}); code != 2 {
		t.Errorf("migrate without a destination: exit %d %s", code, errs.String())
	}
}
