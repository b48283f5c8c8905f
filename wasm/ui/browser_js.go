//go:build js && wasm

package ui

import (
	"context"

	"trustforge/internal/browser"
)

// This file and browser_other.go are the UI's only doors to browser APIs
// beyond go-app's: picked and dropped files, downloads, and yielding to
// the event loop during long work. Everything goes through
// trustforge/internal/browser (safejs).

// pickedFile is a file the user chose or dropped.
type pickedFile struct {
	Name string
	Size int64
	f    browser.File
}

func (p pickedFile) read(ctx context.Context, max int64, progress func(done, total int64)) ([]byte, error) {
	return p.f.ReadAll(ctx, max, progress)
}

func wrapFiles(fs []browser.File) []pickedFile {
	out := make([]pickedFile, len(fs))
	for i, f := range fs {
		out[i] = pickedFile{Name: f.Name, Size: f.Size, f: f}
	}
	return out
}

// inputFiles returns the files chosen in the file input whose id is id,
// and clears the input so the same file can be chosen again.
func inputFiles(id string) ([]pickedFile, error) {
	fs, err := browser.InputFiles(id)
	if err != nil {
		return nil, err
	}
	return wrapFiles(fs), nil
}

// clearInput empties a file input.
func clearInput(id string) { browser.ClearInput(id) }

// listenDrop makes element id a drop zone; onDrop must not block.
func listenDrop(id string, onDrop func([]pickedFile)) (stop func(), err error) {
	return browser.ListenDrop(id, func(fs []browser.File) { onDrop(wrapFiles(fs)) })
}

// saveFile offers data as a download named name.
func saveFile(name, mediaType string, data []byte) error {
	return browser.SaveFile(name, mediaType, data)
}

// copyText puts text on the clipboard.
func copyText(ctx context.Context, text string) error { return browser.CopyText(ctx, text) }

// yieldToBrowser lets the page repaint and handle input.
func yieldToBrowser(ctx context.Context) error { return browser.Yield(ctx) }
