// Package errtext decides which sentence a person reads in the console for
// an error: what went wrong and, where there is one, what to do.
//
// The text comes from the error itself ([usererr.Message]: the message its
// package set where it made it, never its Error text with parts cut out),
// with the console's own sentences for the errors people meet most.
package errtext
