package guide

import (
	"math"
	"strings"
	"unicode"
)

// MinPasswordLen is the server's shortest accepted password, in bytes
// (server/auth.MinPasswordLen; a test keeps them equal).
const MinPasswordLen = 10

// Strength grades a new password.
type Strength int

// The grades.
const (
	TooShort Strength = iota // the server refuses it
	Weak
	Fair
	Strong
)

// String names the grade.
func (s Strength) String() string {
	return [...]string{"too short", "weak", "fair", "strong"}[s]
}

// PasswordStrength grades a new password for the account called name and
// says, in one sentence, why and how to do better. It estimates the search
// space of the password's length over the kinds of characters it uses,
// halved for each character repeated from the one before, and refuses
// credit for the account's name inside it.
func PasswordStrength(pw, name string) (Strength, string) {
	if len(pw) < MinPasswordLen {
		return TooShort, "Too short: use at least 10 characters; a few unrelated words are easy to remember."
	}
	lower := strings.ToLower(pw)
	if n := strings.ToLower(strings.TrimSpace(name)); len(n) >= 3 && strings.Contains(lower, n) {
		return Weak, "Weak: it contains your user name. Choose words nobody links to you."
	}
	var pool float64
	var hasLower, hasUpper, hasDigit, hasSpace, hasOther bool
	for _, r := range pw {
		switch {
		case unicode.IsLower(r):
			hasLower = true
		case unicode.IsUpper(r):
			hasUpper = true
		case unicode.IsDigit(r):
			hasDigit = true
		case r == ' ':
			hasSpace = true
		default:
			hasOther = true
		}
	}
	for _, c := range []struct {
		has  bool
		size float64
	}{{hasLower, 26}, {hasUpper, 26}, {hasDigit, 10}, {hasSpace, 1}, {hasOther, 32}} {
		if c.has {
			pool += c.size
		}
	}
	bits := 0.0
	var prev rune = -1
	for _, r := range pw {
		if r == prev {
			bits += 1
		} else {
			bits += math.Log2(pool)
		}
		prev = r
	}
	switch {
	case bits < 60:
		return Weak, "Weak: make it longer; a few unrelated words beat symbols."
	case bits < 100:
		return Fair, "Fair: one or two more words would make it strong."
	}
	return Strong, "Strong."
}
