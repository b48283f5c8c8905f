package kit

import (
	"context"
	"errors"
	"strings"

	"trustforge/crypto/bundle"
	"trustforge/crypto/vault"
	"trustforge/internal/apiwire"
	"trustforge/wasm/client"
)

// Describe turns an error into the sentence a person sees: what went wrong
// and, where there is one, what to do.
func Describe(err error) string {
	var apiErr *client.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled):
		return "Cancelled."
	case errors.Is(err, vault.ErrWrongPassphrase):
		return "Wrong passphrase. Nothing was changed."
	case errors.Is(err, vault.ErrWeakPassphrase):
		return "The passphrase is too short: use at least 8 characters (a few words is best)."
	case errors.Is(err, vault.ErrLocked):
		return "The vault is locked: unlock it with its passphrase first."
	case errors.Is(err, vault.ErrNoVault):
		return "This browser has no key vault yet: create one on the Keys page."
	case errors.Is(err, vault.ErrExists):
		return "That key is already in the vault; nothing was overwritten."
	case errors.Is(err, vault.ErrWrongKind):
		return "Not a usable private key: " + trimPrefixes(err.Error()) + ". Nothing was imported."
	case errors.Is(err, vault.ErrCorrupt):
		return "The file is damaged or is not a trustforge vault backup (" + trimPrefixes(err.Error()) + "). Nothing was changed."
	case errors.Is(err, bundle.ErrNoIdentity):
		return "None of the age identities in your vault can open this release: ask for it to be published to your recipient."
	case errors.Is(err, bundle.ErrUntrustedKey), errors.Is(err, bundle.ErrBadSignature):
		return "The release's signature does not verify against the product's keys: do not use it."
	case errors.Is(err, apiwire.CodeBadCredentials):
		return "Wrong user name or password."
	case errors.Is(err, apiwire.CodeUnauthenticated):
		return "Your session has ended: sign in again."
	case errors.As(err, &apiErr) && errors.Is(apiErr, apiwire.CodeForbidden):
		return "Your role may not do this (" + apiErr.Message + ")."
	case errors.As(err, &apiErr):
		return "The server refused: " + apiErr.Message
	}
	return UpperFirst(trimPrefixes(err.Error())) + "."
}

// trimPrefixes drops Go package prefixes ("vault: ", "release: ") from a
// message.
func trimPrefixes(s string) string {
	for _, p := range []string{"vault: ", "release: ", "bundle: ", "mcuimg: ", "client: ", "keys: ", "browser: ", "storage: ", "ui: "} {
		s = strings.ReplaceAll(s, p, "")
	}
	return strings.TrimSuffix(s, ".")
}

// UpperFirst returns s with its first letter in upper case.
func UpperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

var ErrNoProduct = errors.New("ui: no product is registered on the server yet: an administrator creates one on Administration")

var (
	ErrYanked       = errors.New("ui: yanked releases cannot be downloaded, so their manifest is not checked")
	ErrCannotVerify = errors.New("ui: your role cannot download manifests, so this browser cannot verify the signature")
	ErrNoChannel    = errors.New("ui: choose a channel to promote to")
	ErrNoReason     = errors.New("ui: give a reason to yank the release")
)
