package kit

import (
	"trustforge/internal/usererr"
	"trustforge/wasm/errtext"
)

// Describe turns an error into the sentence a person sees: what went wrong
// and, where there is one, what to do.
func Describe(err error) string { return errtext.Describe(err) }

// UpperFirst returns s with its first letter in upper case.
func UpperFirst(s string) string { return errtext.UpperFirst(s) }

var ErrNoProduct = usererr.New("ui", "no product is registered on the server yet: an administrator creates one on Administration")

var (
	ErrYanked       = usererr.New("ui", "yanked releases cannot be downloaded, so their manifest is not checked")
	ErrCannotVerify = usererr.New("ui", "your role cannot download manifests, so this browser cannot verify the signature")
	ErrNoChannel    = usererr.New("ui", "choose a channel to promote to")
	ErrNoReason     = usererr.New("ui", "give a reason to yank the release")
)
