package kit

import "trustforge/wasm/errtext"

// DescribeIdentity turns an error of the CA, the provisioning flow or the
// registry into the sentence a person sees.
func DescribeIdentity(err error) string { return errtext.Identity(err) }
