package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestScreenshots writes a full-page PNG of every page, for every role,
// empty and populated, into $TRUSTFORGE_SCREENSHOTS (make screenshots):
// the whole console in one folder, for a reviewer's eyes. Without the
// variable it does nothing.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("TRUSTFORGE_SCREENSHOTS")
	if dir == "" {
		t.Skip("set TRUSTFORGE_SCREENSHOTS to a folder (make screenshots)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	n := 0
	takeTour(t, func(t *testing.T, ctx context.Context, role tourRole, state string, p tourPage) {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
			t.Fatal(err)
		}
		settle(t, ctx)
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, pageLabel(role, state, p)+".png")
		if err := os.WriteFile(name, png, 0o644); err != nil {
			t.Fatal(err)
		}
		n++
	})
	t.Logf("wrote %d screenshots to %s", n, dir)
}
