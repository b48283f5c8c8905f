//go:build !linux

package cli

import "errors"

// readPassphraseTerminal is not available on this system.
func readPassphraseTerminal(prompt string) (string, error) {
	return "", errors.New("cannot ask for a passphrase on this system's terminal")
}
