package audit

import (
	"fmt"

	"trustforge/internal/usererr"
)

// ErrBroken is the error every chain failure wraps; a *ChainError says where.
var ErrBroken = usererr.New("audit", "chain broken")

// ChainError reports the first entry at which a chain stops verifying.
type ChainError struct {
	Seq    uint64 // sequence number expected at the failing position
	Reason string
}

func (e *ChainError) Error() string { return "audit: " + e.UserMessage() }

// UserMessage says where the chain breaks and why, for people.
func (e *ChainError) UserMessage() string {
	return fmt.Sprintf("chain broken at entry %d: %s", e.Seq, e.Reason)
}

// Unwrap makes errors.Is(err, ErrBroken) true.
func (e *ChainError) Unwrap() error { return ErrBroken }

// Verifier checks a chain one entry at a time, in order, from the start of
// the log. Its zero value expects the first entry.
type Verifier struct {
	head Head
}

// Add checks that e follows the entries added so far.
func (v *Verifier) Add(e Entry) error {
	want := v.head.Seq + 1
	switch {
	case e.Seq != want:
		return &ChainError{Seq: want, Reason: fmt.Sprintf("found entry %d (removed or reordered entries)", e.Seq)}
	case e.Prev != v.head.Hash:
		return &ChainError{Seq: want, Reason: "previous-hash link does not match (an earlier entry was removed or edited)"}
	case e.checkFields() != nil:
		return &ChainError{Seq: want, Reason: e.checkFields().Error()}
	case e.Sum() != e.Hash:
		return &ChainError{Seq: want, Reason: "entry hash does not match its contents (entry edited)"}
	}
	v.head = e.Head()
	return nil
}

// Head returns the head of the entries verified so far.
func (v *Verifier) Head() Head { return v.head }

// CheckHead reports whether a chain whose verified head is got still
// contains an earlier-recorded head want: got must reach want.Seq, and, when
// the two are at the same entry, carry the same hash. An intact chain that
// ends before want was truncated.
func CheckHead(got, want Head) error {
	switch {
	case got.Seq < want.Seq:
		return &ChainError{Seq: got.Seq + 1, Reason: fmt.Sprintf("log ends at entry %d but its recorded head is entry %d (entries removed from the end)", got.Seq, want.Seq)}
	case got.Seq == want.Seq && got.Hash != want.Hash:
		return &ChainError{Seq: got.Seq, Reason: "last entry does not match the recorded head"}
	}
	return nil
}
