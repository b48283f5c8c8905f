package provision

import (
	"errors"
	"fmt"

	"trustforge/devices/smp"
	"trustforge/internal/usererr"
)

// Errors of the flow a caller can branch on. Errors returned by the
// package wrap them.
var (
	// ErrLocked: the board is locked; it refuses provisioning writes.
	ErrLocked = usererr.New("provision", "the board is locked")
	// ErrClone: the board's device id is registered to another identity.
	ErrClone = usererr.New("provision", "device id already registered")
	// ErrBadAnswer: the board answered with something unusable.
	ErrBadAnswer = usererr.New("provision", "unusable answer from the board")
)

// Error is a provisioning group error a board answered with.
type Error struct {
	// Cmd names the command, such as "chain upload".
	Cmd string
	// Code is the group error code (ErrCodeLocked, ...), or 0 when the
	// board answered with a bare SMP version 1 rc.
	Code int
	// RC is the SMP version 1 status, or the one Code maps to.
	RC smp.RC
	// Reason is the board's explanation, if it sent one.
	Reason string
}

// Error describes the error in words, with its symbolic name.
func (e *Error) Error() string { return "provision: " + e.UserMessage() }

// UserMessage is the error for people: the command and the board's answer.
func (e *Error) UserMessage() string {
	var s string
	if e.Code != 0 {
		s = fmt.Sprintf("%s: %s (%s)", e.Cmd, CodeText(e.Code), CodeName(e.Code))
	} else {
		s = fmt.Sprintf("%s: the board refused it (%s)", e.Cmd, e.RC)
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// Is makes a LOCKED answer, in either SMP version, match ErrLocked.
func (e *Error) Is(target error) bool {
	return target == ErrLocked && (e.Code == ErrCodeLocked || e.Code == 0 && e.RC == smp.RCAccessDenied)
}

// IsCode reports whether err is, or wraps, a board answer with group
// error code, in either SMP version (version 1 answers are matched by the
// rc the code maps to).
func IsCode(err error, code int) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	if e.Code != 0 {
		return e.Code == code
	}
	return e.RC == LegacyRC(code)
}

// translate turns an smp.Error of a provisioning command into an *Error.
func translate(err error) error {
	var se *smp.Error
	if !errors.As(err, &se) {
		return err
	}
	e := &Error{Cmd: se.Cmd, Reason: se.Reason}
	switch {
	case se.GroupError && se.Group == Group:
		e.Code, e.RC = se.Code, LegacyRC(se.Code)
	case se.GroupError:
		return err
	default:
		e.RC = smp.RC(se.Code)
	}
	return e
}
