// Package usererr gives an error two texts: the one Go programs log and
// test ("vault: backup is damaged: unexpected end of JSON input"), and the
// one a person reads in the console ("backup is damaged: unexpected end of
// JSON input").
//
// An error made with [New] or [Errorf] names its package once, apart from
// its text; [Message] builds the text for people from the texts of the
// errors it wraps, each without its package. Nobody edits an error's text
// to show it, so a message that itself contains "keys: " or "link: " stays
// whole.
//
// Error types of their own implement [Messager] to give their text for
// people. An error that is neither reads the same to both.
package usererr
