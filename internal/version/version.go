// Package version holds the build's version string, shared by the server and
// the WASM console so a client can tell when the server runs a newer build.
package version

// Version is set at link time with
// -ldflags "-X trustforge/internal/version.Version=...". The Makefile sets it
// from git describe; a plain go build reports "dev".
var Version = "dev"
