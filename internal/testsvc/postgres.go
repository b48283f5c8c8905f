package testsvc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgBinDirs are where Debian's postgresql packages put their programs.
var pgBinDirs = []string{
	"/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin",
	"/usr/lib/postgresql/14/bin", "/usr/lib/postgresql/13/bin",
}

// pgBin finds a PostgreSQL program: in $TRUSTFORGE_PG_BIN, Debian's
// versioned directories, then $PATH.
func pgBin(name string) (string, error) {
	dirs := pgBinDirs
	if d := os.Getenv("TRUSTFORGE_PG_BIN"); d != "" {
		dirs = append([]string{d}, dirs...)
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return exec.LookPath(name)
}

// cluster is a throwaway PostgreSQL cluster listening on a unix socket only.
type cluster struct {
	dir    string // data directory and socket directory's parent
	socket string // the socket directory
	cmd    *exec.Cmd
	done   chan struct{}
	n      atomic.Int64
}

var (
	pgOnce sync.Once
	pg     *cluster
	pgErr  error
)

// PostgresURL returns the URL of a new, empty database in the package's
// throwaway PostgreSQL cluster, starting the cluster on first use. The
// database is the caller's alone.
func PostgresURL(t testing.TB) string {
	t.Helper()
	requireMain(t)
	if _, err := pgBin("initdb"); err != nil {
		missing(t, "PostgreSQL", "apt-get install postgresql")
	}
	u, err := NewPostgresURL()
	if err != nil {
		t.Fatalf("testsvc: %v", err)
	}
	return u
}

// NewPostgresURL is PostgresURL for a TestMain: it returns an error where
// PostgresURL fails or skips the test. Call Stop when the tests are done.
func NewPostgresURL() (string, error) {
	pgOnce.Do(func() {
		pg, pgErr = startCluster()
		if pg != nil {
			onStop(pg.stop)
		}
	})
	if pgErr != nil {
		return "", fmt.Errorf("starting PostgreSQL: %w", pgErr)
	}
	name := fmt.Sprintf("t%d_%d", os.Getpid(), pg.n.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := pgx.Connect(ctx, pg.url("postgres"))
	if err != nil {
		return "", err
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("creating database: %w", err)
	}
	return pg.url(name), nil
}

func (c *cluster) url(db string) string {
	return "postgres://postgres@/" + db + "?host=" + url.QueryEscape(c.socket) + "&sslmode=disable"
}

// asPostgres returns the credentials to run the server as: the postgres
// account when running as root (PostgreSQL refuses to run as root), else
// nil for the current user.
func asPostgres() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root and there is no postgres account to run PostgreSQL as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func startCluster() (*cluster, error) {
	initdb, err := pgBin("initdb")
	if err != nil {
		return nil, err
	}
	postgres, err := pgBin("postgres")
	if err != nil {
		return nil, err
	}
	cred, err := asPostgres()
	if err != nil {
		return nil, err
	}
	// Not t.TempDir: its parents are private to root, and the server runs
	// as postgres.
	dir, err := os.MkdirTemp("", "trustforge-pg-")
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir, socket: filepath.Join(dir, "sock"), done: make(chan struct{})}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(c.socket, 0o700); err != nil {
		return nil, err
	}
	if cred != nil {
		for _, p := range []string{dir, c.socket} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				os.RemoveAll(dir)
				return nil, err
			}
		}
	}
	var out bytes.Buffer
	cmd := exec.Command(initdb, "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out.Bytes())
	}
	// Durability is not under test here; speed on a loaded machine is.
	log, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c.cmd = exec.Command(postgres, "-D", data, "-k", c.socket, "-c", "listen_addresses=",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=300", "-c", "shared_buffers=32MB")
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	c.cmd.Stdout, c.cmd.Stderr = log, log
	if err := c.cmd.Start(); err != nil {
		log.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("postgres: %w", err)
	}
	go func() { c.cmd.Wait(); log.Close(); close(c.done) }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := pgx.Connect(ctx, c.url("postgres"))
		if err == nil {
			conn.Close(ctx)
			cancel()
			return c, nil
		}
		cancel()
		select {
		case <-c.done:
			b, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			os.RemoveAll(dir)
			return nil, fmt.Errorf("postgres exited: %s", b)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, errors.New("postgres did not accept connections within 2 minutes")
		}
	}
}

// stop shuts the cluster down fast (SIGINT: abort transactions, exit) and
// removes its files.
func (c *cluster) stop() {
	c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
	os.RemoveAll(c.dir)
}
