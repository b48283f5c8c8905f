package driver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ServerOptions configures StartServer.
type ServerOptions struct {
	// Binary is the trustforge binary. Required: see BuildServer.
	Binary string
	// DataDir is the server's --data directory. Empty means a fresh
	// temporary directory, removed by Stop.
	DataDir string
	// WebDir is the server's --web directory (app.wasm and assets).
	// Required.
	WebDir string
	// Args are extra arguments to trustforge serve.
	Args []string
	// Log receives the server's output. Nil discards it.
	Log io.Writer
	// Client is what the readiness check (/healthz) uses: over HTTPS on a
	// test name it must resolve the name and trust the test CA. Nil means
	// a plain client.
	Client *http.Client
}

// Server is a trustforge server process listening on a free loopback port.
type Server struct {
	// URL is the console's base URL, e.g. http://127.0.0.1:40123.
	URL string

	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	tempDir string
	mu      sync.Mutex
	out     strings.Builder
}

var consoleAt = regexp.MustCompile(`console at (https?://[0-9A-Za-z.:\[\]-]+)/`)

// BuildServer builds the trustforge binary from the module at root into out.
func BuildServer(ctx context.Context, root, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./server/cmd/trustforge")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("driver: building trustforge: %w\n%s", err, b)
	}
	return nil
}

// BuildConsole builds the console's app.wasm from the module at root into
// out and packs it, as the Makefile does (without precompression: the
// server makes the compressed copies on start), with the full function names
// in bin/app.wasm.names under root.
func BuildConsole(ctx context.Context, root, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./wasm")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("driver: building the console: %w\n%s", err, b)
	}
	pack := exec.CommandContext(ctx, "go", "run", "./internal/cmd/wasmpack", "-names", filepath.Join(root, "bin", "app.wasm.names"), out)
	pack.Dir = root
	if b, err := pack.CombinedOutput(); err != nil {
		return fmt.Errorf("driver: packing the console's data section: %w\n%s", err, b)
	}
	return nil
}

// StartServer runs `trustforge serve` on 127.0.0.1 with a free port and
// returns once /healthz answers 200.
func StartServer(ctx context.Context, opts ServerOptions) (*Server, error) {
	if opts.Binary == "" || opts.WebDir == "" {
		return nil, errors.New("driver: ServerOptions needs Binary and WebDir")
	}
	s := &Server{done: make(chan struct{})}
	data := opts.DataDir
	if data == "" {
		d, err := os.MkdirTemp("", "trustforge-data-")
		if err != nil {
			return nil, fmt.Errorf("driver: %w", err)
		}
		s.tempDir, data = d, d
	}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--web", opts.WebDir}, opts.Args...)
	s.cmd = exec.Command(opts.Binary, args...)
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("driver: %w", err)
	}
	logw := opts.Log
	if logw == nil {
		logw = io.Discard
	}
	s.cmd.Stderr = io.MultiWriter(logw, &lockedWriter{s: s})
	if err := s.cmd.Start(); err != nil {
		s.cleanup()
		return nil, fmt.Errorf("driver: starting %s: %w", opts.Binary, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.done)
	}()

	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logw, line)
			s.mu.Lock()
			s.out.WriteString(line + "\n")
			s.mu.Unlock()
			if m := consoleAt.FindStringSubmatch(line); m != nil {
				select {
				case urlc <- m[1]:
				default:
				}
			}
		}
	}()

	select {
	case s.URL = <-urlc:
	case <-s.done:
		s.cleanup()
		return nil, fmt.Errorf("driver: server exited: %v\n%s", s.waitErr, s.Output())
	case <-ctx.Done():
		s.Stop()
		return nil, ctx.Err()
	case <-time.After(2 * time.Minute):
		s.Stop()
		return nil, fmt.Errorf("driver: server did not announce its address\n%s", s.Output())
	}
	if err := s.waitHealthy(ctx, opts.Client); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) waitHealthy(ctx context.Context, client *http.Client) error {
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Second}
	}
	for {
		resp, err := client.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return fmt.Errorf("driver: server exited: %v\n%s", s.waitErr, s.Output())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Output returns what the server printed so far.
func (s *Server) Output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// Stop asks the server to shut down (SIGTERM), waits for it and removes a
// temporary data directory. It returns the server's exit error, if any.
func (s *Server) Stop() error {
	if s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(15 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
		}
	}
	s.cleanup()
	return s.waitErr
}

// Done is closed when the server process has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

func (s *Server) cleanup() {
	if s.tempDir != "" {
		os.RemoveAll(s.tempDir)
	}
}

type lockedWriter struct{ s *Server }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.out.Write(p)
}

// ModuleRoot returns the directory of the go.mod enclosing dir.
func ModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("driver: no go.mod above the working directory")
		}
		dir = parent
	}
}
