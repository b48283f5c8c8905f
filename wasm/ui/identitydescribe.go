package ui

import "trustforge/wasm/errtext"

// describeIdentity turns an error of the CA, the provisioning flow or the
// registry into the sentence a person sees.
func describeIdentity(err error) string { return errtext.Identity(err) }
