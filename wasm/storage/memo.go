package storage

import (
	"encoding/json"
	"unicode/utf8"

	"trustforge/internal/apiwire"
)

// Remembered is what the console keeps of a session across reloads (see
// state.SessionMemo): what it shows of it, never its CSRF token. A zero
// User means a session whose account is not known (kept by an older
// console): the tab asks the server before showing anyone signed in.
type Remembered struct {
	User   string        `json:"user"`
	Roles  apiwire.Roles `json:"roles"`
	Admins []string      `json:"admins,omitempty"` // whom the console tells this account to ask
	// Done lists the getting-started steps the account had done when the
	// home page last showed them (their IDs); nil: it never did.
	Done []string `json:"done"`
}

// Memo keeps the tab's remembered session (the account's name, roles and
// administrators, never a token) in the browser's
// localStorage under Key, so that it survives reloads. It is a hint, not a
// credential: any script of the origin reads it, and the server decides
// who is signed in. It implements state.SessionMemo.
type Memo struct {
	Key string
	// Forget names other localStorage keys that describe the account's
	// pages, removed with the session: the heights of the pages' lists
	// the console's loader keeps ("trustforge-rooms").
	Forget []string
}

// maxMemo bounds what decodeMemo reads: a remembered session is a name,
// a few roles and a few administrators' names.
const maxMemo = 16 << 10

// encodeMemo returns the stored form of m.
func encodeMemo(m Remembered) string {
	b, err := json.Marshal(m)
	if err != nil {
		return "1"
	}
	return string(b)
}

// decodeMemo reads a stored value. Anything stored means this browser had
// a session: "1", what consoles before the remembered session stored, or a
// value it cannot read, gives a zero Remembered (the tab asks the server
// before showing anyone signed in).
func decodeMemo(v string) Remembered {
	var m Remembered
	if len(v) > maxMemo || !utf8.ValidString(v) || json.Unmarshal([]byte(v), &m) != nil {
		return Remembered{}
	}
	return m
}
