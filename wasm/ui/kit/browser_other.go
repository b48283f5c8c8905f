//go:build !(js && wasm)

package kit

import (
	"context"

	"trustforge/internal/blocks"
	"trustforge/internal/usererr"
)

// Outside a browser (the server's pre-rendering) there are no files to
// pick, drop or save; these stand-ins fail plainly.

var errNoBrowser = usererr.New("ui", "needs a browser")

type PickedFile struct {
	Name string
	Size int64
}

func (p PickedFile) Read(context.Context, int64, func(done, total int64)) ([]byte, error) {
	return nil, errNoBrowser
}

func (p PickedFile) ReadBlocks(context.Context, int64, func(done, total int64)) (*blocks.Buffer, error) {
	return nil, errNoBrowser
}

func InputFiles(string) ([]PickedFile, error)               { return nil, errNoBrowser }
func ClearInput(string)                                     {}
func ListenDrop(string, func([]PickedFile)) (func(), error) { return func() {}, errNoBrowser }
func SaveFile(string, string, []byte) error                 { return errNoBrowser }
func YieldToBrowser(context.Context) error                  { return nil }
func CopyText(context.Context, string) error                { return errNoBrowser }

func readOfflineStore(context.Context) (offlineStore, error) { return offlineStore{}, errNoBrowser }
func watchOnline(func()) (func(), error)                     { return func() {}, errNoBrowser }
func online() bool                                           { return true }
