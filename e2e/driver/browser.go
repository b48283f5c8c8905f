// Package driver automates the trustforge console with chromedp: it starts
// the trustforge server and a headless Chromium, opens console tabs, waits on
// the console's ready marker and reports every page exception and console
// error. The console's own end-to-end tests use it, and so can a production
// line's test rig.
package driver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/chromedp/chromedp"
)

// DefaultChromium is where Debian installs Chromium.
const DefaultChromium = "/usr/bin/chromium"

// ErrNoChromium is returned by StartBrowser when no Chromium binary is found.
var ErrNoChromium = errors.New("driver: chromium not found (install it: apt-get install -y chromium)")

// BrowserOptions configures StartBrowser. The zero value starts Debian's
// Chromium headless.
type BrowserOptions struct {
	// ExecPath is the Chromium binary. Empty means $TRUSTFORGE_CHROMIUM, else
	// DefaultChromium, else chromium or chromium-browser on $PATH.
	ExecPath string
	// UserDataDir is the profile directory. Empty means a fresh temporary
	// directory, removed by Close.
	UserDataDir string
	// Flags are extra command-line switches (name → value, true for a bare
	// switch), e.g. policies for a production line's test rig.
	Flags map[string]any
}

// Browser is a running headless Chromium.
type Browser struct {
	ctx     context.Context // the browser's root chromedp context
	cancel  context.CancelFunc
	tempDir string
}

// FindChromium returns the Chromium binary BrowserOptions would use.
func FindChromium(execPath string) (string, error) {
	candidates := []string{execPath, os.Getenv("TRUSTFORGE_CHROMIUM"), DefaultChromium}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return c, nil
		}
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChromium
}

// StartBrowser starts Chromium headless with the flags a sealed test machine
// needs: no sandbox (root in a container), no GPU, and none of Chromium's own
// background traffic. The browser lives until Close or until ctx is done.
func StartBrowser(ctx context.Context, opts BrowserOptions) (*Browser, error) {
	execPath, err := FindChromium(opts.ExecPath)
	if err != nil {
		return nil, err
	}
	b := &Browser{}
	dir := opts.UserDataDir
	if dir == "" {
		dir, err = os.MkdirTemp("", "trustforge-chromium-")
		if err != nil {
			return nil, fmt.Errorf("driver: %w", err)
		}
		b.tempDir = dir
	}
	alloc := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.UserDataDir(dir),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
	)
	for name, v := range opts.Flags {
		alloc = append(alloc, chromedp.Flag(name, v))
	}
	actx, acancel := chromedp.NewExecAllocator(ctx, alloc...)
	bctx, bcancel := chromedp.NewContext(actx)
	// The first Do starts the browser; it lives as long as bctx.
	if err := chromedp.Do(bctx); err != nil {
		bcancel()
		acancel()
		b.removeTemp()
		return nil, fmt.Errorf("driver: starting %s: %w", execPath, err)
	}
	b.ctx = bctx
	b.cancel = func() { bcancel(); acancel() }
	return b, nil
}

// Close stops the browser and removes its temporary profile.
func (b *Browser) Close() {
	b.cancel()
	b.removeTemp()
}

func (b *Browser) removeTemp() {
	if b.tempDir == "" {
		return
	}
	// Chromium's children can write for a moment after the browser stops.
	for range 50 {
		if err := os.RemoveAll(b.tempDir); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// NewTab opens a tab in a fresh browser context (its own cookies, storage,
// cache and service workers), so tabs do not see each other's state. Cancel
// the returned context to close the tab and its browser context.
func (b *Browser) NewTab() (context.Context, context.CancelFunc, error) {
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("driver: opening a tab: %w", err)
	}
	return ctx, cancel, nil
}

// NewTabInContext opens another tab in the same browser context as the tab
// of ctx: it shares that tab's storage, cache and service workers.
func (b *Browser) NewTabInContext(ctx context.Context) (context.Context, context.CancelFunc, error) {
	c := chromedp.FromContext(ctx)
	if c == nil {
		return nil, nil, errors.New("driver: not a chromedp context")
	}
	tctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithExistingBrowserContext(c.BrowserContextID))
	if err := chromedp.Do(tctx); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("driver: opening a tab: %w", err)
	}
	return tctx, cancel, nil
}
