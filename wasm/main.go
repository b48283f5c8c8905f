// Command wasm is the trustforge console compiled to WebAssembly.
//
// It only wires: the shared state (wasm/state) with the release API client
// (wasm/client) and the vault's IndexedDB store (wasm/storage), and the
// pages and components of wasm/ui. Built natively (as the server's
// pre-renderer links the same routes) it does nothing.
package main

import (
	"context"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"trustforge/crypto/vault"
	"trustforge/wasm/client"
	"trustforge/wasm/state"
	"trustforge/wasm/storage"
	"trustforge/wasm/ui"
	"trustforge/wasm/ui/kit"
)

// vaultDB is the IndexedDB database holding the key vault.
const vaultDB = "trustforge-vault"

func main() {
	api := &client.Client{Uploader: client.DefaultUploader()}
	if app.IsClient {
		u := app.Window().URL()
		api.BaseURL = u.Scheme + "://" + u.Host
	}
	st := state.New(state.Config{
		API: api,
		OpenStore: func(ctx context.Context) (vault.Store, error) {
			return storage.Open(ctx, vaultDB)
		},
		// The key is the one consoles before the remembered session set to
		// "1" once signed in, which Memo still reads.
		Memo: storage.Memo{Key: "trustforge-signed-in", Forget: []string{"trustforge-rooms"}},
		// The first page shows before the session check, the vault's
		// IndexedDB scan and the syncs start.
		AfterPaint: afterPaint,
		// scrypt stops every 25 ms so the page keeps answering while the
		// vault unlocks.
		Vault: vault.Options{Yield: kit.YieldToBrowser},
	})
	ui.RoutesWith(st)
	app.RunWhenOnBrowser()
}
