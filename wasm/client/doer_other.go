//go:build !(js && wasm)

package client

import "net/http"

// defaultDoer is net/http's default client.
func defaultDoer() Doer { return http.DefaultClient }
