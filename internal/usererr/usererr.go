package usererr

import (
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
	pkg string
	msg string // the text for people
	err error  // the text with the arguments' own texts, wrapping what %w names; nil from New
}

// New returns an error of package pkg with the given text. Its Error is
// "pkg: text" (just text when pkg is ""); its UserMessage is text.
func New(pkg, text string) error { return &Error{pkg: pkg, msg: text} }

// Errorf formats an error of package pkg as [fmt.Errorf] does, wrapping
// the errors %w names. Its Error is "pkg: " and the formatted text (just
// the text when pkg is ""), so that
//
//	usererr.Errorf("vault", "open %s: %w", name, err)
//
// reads as fmt.Errorf("vault: open %s: %w", name, err) in logs. Its
// UserMessage is formatted with each error argument's [Message] in its
// place.
//
// Both texts are made here, and args is not kept: a call costs what a
// call of fmt.Errorf does, plus one formatting.
func Errorf(pkg, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	people := make([]any, len(args))
	for i, a := range args {
		if e, ok := a.(error); ok {
			a = message{e}
		}
		people[i] = a
	}
	return &Error{pkg: pkg, msg: fmt.Errorf(format, people...).Error(), err: err}
}

// Error returns the text for programs: the package, then the text with
// the arguments' own texts.
func (e *Error) Error() string {
	text := e.msg
	if e.err != nil {
		text = e.err.Error()
	}
	if e.pkg == "" {
		return text
	}
	return e.pkg + ": " + text
}

// UserMessage returns the text for people: without the package, and with
// the message of each error it was made from.
func (e *Error) UserMessage() string { return e.msg }

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
