// Package e2e holds the console's end-to-end tests: the real trustforge
// server, started on a free loopback port, driven in headless Chromium.
package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"trustforge/e2e/driver"
	"trustforge/internal/testsvc"
)

// env is shared by every test of the package: one browser, one server.
var env struct {
	root     string
	webDir   string
	bin      string // the trustforge binary the server runs, for CLI checks
	tmp      string // a directory removed when the tests end
	server   *driver.Server
	browser  *driver.Browser
	accounts *accounts // the server's accounts, one per role
	skip     string    // why browser tests cannot run here
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	root, err := driver.ModuleRoot(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env.root = root
	env.webDir = filepath.Join(root, "web")

	if _, err := driver.FindChromium(""); err != nil {
		env.skip = err.Error()
		return m.Run()
	}

	tmp, err := os.MkdirTemp("", "trustforge-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)

	bctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if _, err := os.Stat(filepath.Join(env.webDir, "app.wasm")); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: web/app.wasm missing; building the console")
		if err := driver.BuildConsole(bctx, root, filepath.Join(env.webDir, "app.wasm")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	bin := filepath.Join(tmp, "trustforge")
	if err := driver.BuildServer(bctx, root, bin); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env.bin, env.tmp = bin, tmp
	shared, err := scaledArgs(tmp)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer testsvc.Stop()
	srv, err := driver.StartServer(bctx, driver.ServerOptions{
		Binary:  bin,
		DataDir: filepath.Join(tmp, "data"),
		WebDir:  env.webDir,
		Args:    shared,
		Log:     testLog(),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer srv.Stop()
	env.server = srv
	if env.accounts, err = setUpAccounts(bctx, srv); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	b, err := driver.StartBrowser(ctx, driver.BrowserOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer b.Close()
	env.browser = b
	return m.Run()
}

// testLog returns where the server's output goes: stderr with -v, else
// nowhere (the driver keeps it for failure messages).
func testLog() io.Writer {
	for _, a := range os.Args {
		if a == "-test.v=true" || a == "-test.v" {
			return os.Stderr
		}
	}
	return io.Discard
}

// newTab opens a tab in a fresh browser context for t, watches it for page
// errors and fails t if any appeared by the end of the test.
func newTab(tb testing.TB) (context.Context, *driver.ErrorWatch) {
	tb.Helper()
	if env.skip != "" {
		tb.Skipf("chromium missing: %s", env.skip)
	}
	ctx, cancel, err := env.browser.NewTab()
	if err != nil {
		tb.Fatal(err)
	}
	ctx, tcancel := context.WithTimeout(ctx, 2*time.Minute)
	watch := driver.WatchErrors(ctx)
	tb.Cleanup(func() {
		if err := watch.Err(); err != nil {
			tb.Error(err)
		}
		tcancel()
		cancel()
	})
	return ctx, watch
}
