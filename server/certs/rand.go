package certs

import (
	"crypto/rand"
	"io"
)

func randOf(o LocalOptions) io.Reader {
	if o.Rand != nil {
		return o.Rand
	}
	return rand.Reader
}
