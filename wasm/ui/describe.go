package ui

import (
	"trustforge/internal/usererr"
	"trustforge/wasm/errtext"
)

// describe turns an error into the sentence a person sees: what went wrong
// and, where there is one, what to do.
func describe(err error) string { return errtext.Describe(err) }

func upperFirst(s string) string { return errtext.UpperFirst(s) }

var errNoProduct = usererr.New("ui", "no product is registered on the server yet: an administrator creates one on Administration")

var (
	errYanked       = usererr.New("ui", "yanked releases cannot be downloaded, so their manifest is not checked")
	errCannotVerify = usererr.New("ui", "your role cannot download manifests, so this browser cannot verify the signature")
	errNoChannel    = usererr.New("ui", "choose a channel to promote to")
	errNoReason     = usererr.New("ui", "give a reason to yank the release")
)
