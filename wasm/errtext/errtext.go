package errtext

import (
	"context"
	"errors"
	"strings"

	"trustforge/crypto/bundle"
	"trustforge/crypto/vault"
	"trustforge/internal/apiwire"
	"trustforge/internal/usererr"
)

// Describe turns an error into the sentence a person sees.
func Describe(err error) string {
	var apiErr *apiwire.Error
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
		return "Not a usable private key: " + text(err) + ". Nothing was imported."
	case errors.Is(err, vault.ErrCorrupt):
		return "The file is damaged or is not a trustforge vault backup (" + text(err) + "). Nothing was changed."
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
	return Sentence(usererr.Message(err))
}

// text is err's message without a closing full stop, for use inside a
// sentence.
func text(err error) string { return strings.TrimSuffix(usererr.Message(err), ".") }

// Sentence makes s a sentence: a capital first letter and one full stop.
func Sentence(s string) string {
	return UpperFirst(strings.TrimSuffix(s, ".")) + "."
}

// UpperFirst returns s with its first letter in upper case.
func UpperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
