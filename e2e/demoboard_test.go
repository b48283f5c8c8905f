package e2e

import (
	"context"
	"testing"
	"time"

	"trustforge/e2e/driver"
)

// TestSimulatedBoardForNewcomers: on a server started with --demo-board,
// the Devices page connects to the simulated board, labelled as such, with
// its factory image, and flashes it like any board.
func TestSimulatedBoardForNewcomers(t *testing.T) {
	if env.skip != "" {
		t.Skip(env.skip)
	}
	sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := driver.StartServer(sctx, driver.ServerOptions{Binary: env.bin, WebDir: env.webDir, Args: []string{"--demo-board"}, Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()

	ctx, _ := newTab(t)
	if _, err := driver.InstallSerialShim(ctx, ""); err != nil { // no real port is ever listed
		t.Fatal(err)
	}
	if err := driver.Open(ctx, srv.URL+"/devices"); err != nil {
		t.Fatal(err)
	}
	click(t, ctx, "sim-connect")
	waitFor(t, ctx, `#link-status[data-state="connected"][data-kind="simulated"]`)
	waitFor(t, ctx, "#link-simulated")
	hasText(t, ctx, "link-status", "Simulated board")
	waitSlot(t, ctx, 0, "0.1.0", "active", "confirmed")
	hasText(t, ctx, "board-node", "trustforge-demo")

	setFile(t, ctx, "upload-file", writeFile(t, "first-app.bin", signedImage(t, "0.2.0", nil, 12<<10)))
	waitFor(t, ctx, "#upload-file-info")
	click(t, ctx, "upload-start")
	waitFor(t, ctx, "#upload-message")
	waitSlot(t, ctx, 1, "0.2.0")
	click(t, ctx, "slot-0-1-test")
	waitSlot(t, ctx, 1, "0.2.0", "pending")
	click(t, ctx, "board-reset")
	waitSlot(t, ctx, 0, "0.2.0", "active")
	click(t, ctx, "confirm-running")
	waitSlot(t, ctx, 0, "0.2.0", "active", "confirmed")
}
