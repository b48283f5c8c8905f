// Package kit holds what every page of the trustforge console shares: the
// layout (header, navigation, session bar, page note, browser notice), the
// page table's paths, the sign-in form, the vault panel, and small parts
// such as the progress bar, the file picker, version and size wording, and
// the sentences errors are shown as.
//
// A page lives in a package of its own under wasm/ui and imports kit; kit
// imports no page. Browser calls (files, downloads, clipboard, yielding to
// the page) sit behind browser_js.go, with a native stub so that the
// server's pre-renderer builds the same components.
package kit
