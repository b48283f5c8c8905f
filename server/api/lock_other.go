//go:build !unix

package api

import "errors"

// ErrLocked reports a data directory another server is using.
var ErrLocked = errors.New("api: data directory is in use by another trustforge server")

// lockDir is a no-op where flock(2) is unavailable: run one server per data
// directory.
func lockDir(path string) (func() error, error) { return func() error { return nil }, nil }
