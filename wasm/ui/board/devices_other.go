//go:build !(js && wasm)

package board

// Outside a browser (the server's pre-rendering) there is no network to
// watch.

func listenOnline(fn func()) (stop func()) { return func() {} }

func browserOnline() bool { return true }
