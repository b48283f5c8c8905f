// Package browser adapts the browser's JavaScript APIs for trustforge's
// WebAssembly code: awaiting promises and events from goroutines, turning
// JavaScript exceptions into Go errors, moving bytes between Go and
// JavaScript, reading picked and dropped files, saving downloads, uploading
// with progress (XMLHttpRequest) and yielding to the event loop during long
// computations.
//
// It is the one place, with the transports of devices/ and the console's
// storage adapters, where syscall/js is touched, always through
// github.com/hack-pad/safejs so a JavaScript exception becomes an error
// instead of a panic. It builds only for js/wasm, but for
// [DeviceAPI], whose calls fail outside a browser.
//
// Never call Await from a JavaScript callback (an event handler, or a go-app
// handler running on the UI goroutine): the callback blocks the event loop the
// promise needs to settle, and the page hangs. Await from a goroutine, such as
// one started by go-app's ctx.Async.
package browser
