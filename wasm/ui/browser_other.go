//go:build !(js && wasm)

package ui

import (
	"context"

	"trustforge/internal/usererr"
)

// Outside a browser (the server's pre-rendering) there are no files to
// pick, drop or save; these stand-ins fail plainly.

var errNoBrowser = usererr.New("ui", "needs a browser")

type pickedFile struct {
	Name string
	Size int64
}

func (p pickedFile) read(context.Context, int64, func(done, total int64)) ([]byte, error) {
	return nil, errNoBrowser
}

func inputFiles(string) ([]pickedFile, error)               { return nil, errNoBrowser }
func clearInput(string)                                     {}
func listenDrop(string, func([]pickedFile)) (func(), error) { return func() {}, errNoBrowser }
func saveFile(string, string, []byte) error                 { return errNoBrowser }
func yieldToBrowser(context.Context) error                  { return nil }
func copyText(context.Context, string) error                { return errNoBrowser }
