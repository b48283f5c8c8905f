//go:build js && wasm

package browser

import (
	"trustforge/internal/usererr"

	"github.com/hack-pad/safejs"
)

// NewBlob returns a JavaScript Blob holding a copy of data.
func NewBlob(data []byte, mediaType string) (safejs.Value, error) {
	arr, err := BytesToJS(data)
	if err != nil {
		return safejs.Undefined(), err
	}
	return newBlobOf(arr, mediaType)
}

func newBlobOf(part safejs.Value, mediaType string) (safejs.Value, error) {
	g := safejs.Global()
	ctor, err := g.Get("Blob")
	if err != nil {
		return safejs.Undefined(), err
	}
	array, err := g.Get("Array")
	if err != nil {
		return safejs.Undefined(), err
	}
	parts, err := array.New()
	if err != nil {
		return safejs.Undefined(), wrapErr(err)
	}
	if _, err := Call(parts, "push", part); err != nil {
		return safejs.Undefined(), err
	}
	opts, err := safejs.ValueOf(map[string]any{"type": mediaType})
	if err != nil {
		return safejs.Undefined(), err
	}
	b, err := ctor.New(parts, opts)
	if err != nil {
		return safejs.Undefined(), wrapErr(err)
	}
	return b, nil
}

// SaveFile offers data to the user as a download named name, as a link
// with a download attribute does: the browser saves it to its downloads
// folder (or asks where). The bytes never leave the machine.
func SaveFile(name, mediaType string, data []byte) error {
	if mediaType == "" {
		mediaType = "application/octet-stream"
	}
	blob, err := NewBlob(data, mediaType)
	if err != nil {
		return err
	}
	g := safejs.Global()
	urlCtor, err := g.Get("URL")
	if err != nil {
		return err
	}
	href, err := Call(urlCtor, "createObjectURL", blob)
	if err != nil {
		return err
	}
	doc, err := g.Get("document")
	if err != nil {
		return err
	}
	a, err := Call(doc, "createElement", "a")
	if err != nil {
		return err
	}
	a.Set("href", href)
	a.Set("download", name)
	a.Set("rel", "noopener")
	body, err := doc.Get("body")
	if err != nil {
		return err
	}
	if _, err := Call(body, "appendChild", a); err != nil {
		return err
	}
	_, clickErr := Call(a, "click")
	Call(body, "removeChild", a)
	// Revoke later: the download starts asynchronously.
	var revoke safejs.Func
	revoke, err = safejs.FuncOf(func(safejs.Value, []safejs.Value) any {
		Call(urlCtor, "revokeObjectURL", href)
		revoke.Release()
		return nil
	})
	if err == nil {
		Call(g, "setTimeout", revoke.Value(), 60_000)
	}
	if clickErr != nil {
		return usererr.Errorf("browser", "starting the download of %s: %w", name, clickErr)
	}
	return nil
}
