//go:build unix

package api

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrLocked reports a data directory another server is using.
var ErrLocked = errors.New("api: data directory is in use by another trustforge server")

// lockDir takes an exclusive advisory lock on path, released by the
// returned function or when the process dies (a SIGKILLed server does not
// block its restart).
func lockDir(path string) (func() error, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("api: locking %s: %w", path, err)
	}
	return f.Close, nil
}
