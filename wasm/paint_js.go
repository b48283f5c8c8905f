//go:build js && wasm

package main

import "trustforge/internal/browser"

// afterPaint waits for the browser to paint the page.
var afterPaint = browser.AfterPaint
