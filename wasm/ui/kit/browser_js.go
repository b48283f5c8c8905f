//go:build js && wasm

package kit

import (
	"context"

	"trustforge/internal/blocks"
	"trustforge/internal/browser"
)

// This file and browser_other.go are the UI's only doors to browser APIs
// beyond go-app's: picked and dropped files, downloads, and yielding to
// the event loop during long work. Everything goes through
// trustforge/internal/browser (safejs).

// PickedFile is a file the user chose or dropped.
type PickedFile struct {
	Name string
	Size int64
	f    browser.File
}

// Read returns the file's bytes, refusing one larger than max; progress,
// if not nil, is told how far the read has come.
func (p PickedFile) Read(ctx context.Context, max int64, progress func(done, total int64)) ([]byte, error) {
	return p.f.ReadAll(ctx, max, progress)
}

// ReadBlocks returns the file's bytes as Read does, in blocks of
// blocks.DefaultSize: for long files, which one slice would stall the page
// to allocate (see trustforge/internal/blocks).
func (p PickedFile) ReadBlocks(ctx context.Context, max int64, progress func(done, total int64)) (*blocks.Buffer, error) {
	parts, err := p.f.ReadBlocks(ctx, max, blocks.DefaultSize, progress)
	if err != nil {
		return nil, err
	}
	return blocks.Of(parts...), nil
}

func wrapFiles(fs []browser.File) []PickedFile {
	out := make([]PickedFile, len(fs))
	for i, f := range fs {
		out[i] = PickedFile{Name: f.Name, Size: f.Size, f: f}
	}
	return out
}

// InputFiles returns the files chosen in the file input whose id is id,
// and clears the input so the same file can be chosen again.
func InputFiles(id string) ([]PickedFile, error) {
	fs, err := browser.InputFiles(id)
	if err != nil {
		return nil, err
	}
	return wrapFiles(fs), nil
}

// ClearInput empties a file input.
func ClearInput(id string) { browser.ClearInput(id) }

// ListenDrop makes element id a drop zone; onDrop must not block.
func ListenDrop(id string, onDrop func([]PickedFile)) (stop func(), err error) {
	return browser.ListenDrop(id, func(fs []browser.File) { onDrop(wrapFiles(fs)) })
}

// SaveFile offers data as a download named name.
func SaveFile(name, mediaType string, data []byte) error {
	return browser.SaveFile(name, mediaType, data)
}

// CopyText puts text on the clipboard.
func CopyText(ctx context.Context, text string) error { return browser.CopyText(ctx, text) }

// YieldToBrowser lets the page repaint and answer input before it returns.
// Long work on the page's thread calls it between slices: wasm/main.go
// gives it to the vault, whose scrypt would otherwise freeze the page for
// seconds while it unlocks.
func YieldToBrowser(ctx context.Context) error { return browser.Yield(ctx) }

// readOfflineStore asks the browser about the console's service worker.
func readOfflineStore(ctx context.Context) (offlineStore, error) {
	s, err := browser.ReadOfflineStore(ctx)
	return offlineStore{Secure: s.Secure, Supported: s.Supported, Registered: s.Registered, Active: s.Active, Installing: s.Installing}, err
}

// watchOnline calls fn when the browser goes online or offline.
func watchOnline(fn func()) (stop func(), err error) { return browser.WatchOnline(fn) }

// online reports whether the browser believes it has a network.
func online() bool { return browser.Online() }
