// Package testsvc starts the real services the scaled-out server's tests
// run against, each in a throwaway directory: a PostgreSQL cluster (Debian's
// initdb and postgres, run as the postgres account when the tests run as
// root) and versitygw, an S3-compatible object store on a directory.
//
// A package's TestMain calls Main, which stops every service the package's
// tests started once they have run. Within the process one cluster and one
// object store are shared; every caller of PostgresURL gets its own fresh
// database and every caller of S3 its own fresh bucket, so tests stay
// independent and may run in parallel.
//
// When a tool is genuinely missing (`make test-deps` installs both), the
// test that needs it is skipped with a message saying how to install it.
package testsvc

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

var (
	mainCalled bool
	mu         sync.Mutex
	stops      []func()
)

// Main runs the package's tests and then stops every service they started.
// Call it from TestMain:
//
//	func TestMain(m *testing.M) { testsvc.Main(m) }
func Main(m *testing.M) {
	mainCalled = true
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops every service started so far. Main calls it; a TestMain that
// cannot use Main calls it after m.Run.
func Stop() {
	mu.Lock()
	fs := stops
	stops = nil
	mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// OnStop has f run when Main stops the services, such as to remove a
// binary the tests built.
func OnStop(f func()) { onStop(f) }

func onStop(f func()) {
	mu.Lock()
	stops = append(stops, f)
	mu.Unlock()
}

func requireMain(t testing.TB) {
	t.Helper()
	if !mainCalled {
		t.Fatal("testsvc: the package's TestMain must call testsvc.Main (or testsvc.Stop) so shared services are stopped")
	}
}

// missing skips t because tool is not installed.
func missing(t testing.TB, tool, how string) {
	t.Helper()
	msg := fmt.Sprintf("testsvc: %s is not installed (%s; `make test-deps` installs it)", tool, how)
	if os.Getenv("TRUSTFORGE_REQUIRE_SERVICES") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
