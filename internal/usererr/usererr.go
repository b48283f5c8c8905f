package usererr

import (
	"errors"
	"fmt"
)

// A Messager is an error with a text for people: the error's text without
// the Go package names that prefix it and the errors it wraps.
type Messager interface {
	error
	UserMessage() string
}

// Error is an error of package pkg. Its Error is "pkg: " and the text;
// its UserMessage is the text alone, with every error it was made from
// given by its own [Message].
type Error struct {
	pkg    string
	format string
	args   []any
	err    error // the text with the arguments' own texts; wraps what %w names
}

// New returns an error of package pkg with the given text. Its Error is
// "pkg: text" (just text when pkg is ""); its UserMessage is text.
func New(pkg, text string) error {
	return &Error{pkg: pkg, format: "%s", args: []any{text}, err: errors.New(text)}
}

// Errorf formats an error of package pkg as [fmt.Errorf] does, wrapping
// the errors %w names. Its Error is "pkg: " and the formatted text (just
// the text when pkg is ""), so that
//
//	usererr.Errorf("vault", "open %s: %w", name, err)
//
// reads as fmt.Errorf("vault: open %s: %w", name, err) in logs. Its
// UserMessage formats again with each error argument's [Message] in its
// place.
func Errorf(pkg, format string, args ...any) error {
	return &Error{pkg: pkg, format: format, args: args, err: fmt.Errorf(format, args...)}
}

// Error returns the text for programs: the package, then the text with
// the arguments' own texts.
func (e *Error) Error() string {
	if e.pkg == "" {
		return e.err.Error()
	}
	return e.pkg + ": " + e.err.Error()
}

// UserMessage returns the text for people: without the package, and with
// the message of each error it was made from.
func (e *Error) UserMessage() string {
	args := make([]any, len(e.args))
	for i, a := range e.args {
		if err, ok := a.(error); ok {
			a = message{err}
		}
		args[i] = a
	}
	return fmt.Errorf(e.format, args...).Error()
}

// Unwrap returns the errors %w named.
func (e *Error) Unwrap() []error {
	switch w := e.err.(type) {
	case interface{ Unwrap() error }:
		return []error{w.Unwrap()}
	case interface{ Unwrap() []error }:
		return w.Unwrap()
	}
	return nil
}

// message stands for an error argument while the text for people is
// formatted: it reads as the error's message.
type message struct{ err error }

func (m message) Error() string { return Message(m.err) }

// Message returns the text a person reads for err: its UserMessage when err
// is a [Messager], else its Error. It is "" for a nil error.
//
// Only err itself is asked, not the errors it wraps: a wrapper that is not
// a Messager wrote its own text around theirs, and that text is the one to
// show.
func Message(err error) string {
	if err == nil {
		return ""
	}
	if m, ok := err.(Messager); ok {
		return m.UserMessage()
	}
	return err.Error()
}
