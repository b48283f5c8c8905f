package ui

import "context"

// YieldToBrowser lets the page repaint and answer input before it returns.
// Long work on the page's thread calls it between slices: wasm/main.go
// gives it to the vault, whose scrypt would otherwise freeze the page for
// seconds while it unlocks.
func YieldToBrowser(ctx context.Context) error { return yieldToBrowser(ctx) }
