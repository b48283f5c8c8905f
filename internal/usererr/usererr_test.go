package usererr_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"trustforge/internal/usererr"
)

var errCorrupt = usererr.New("vault", "backup is damaged")

type boardError struct{ code int }

func (e *boardError) Error() string       { return fmt.Sprintf("smp: board said %d", e.code) }
func (e *boardError) UserMessage() string { return fmt.Sprintf("board said %d", e.code) }

func TestTexts(t *testing.T) {
	plain := errors.New("age: no identity matched any of the recipients")
	tests := []struct {
		name          string
		err           error
		error, people string
	}{
		{"new", errCorrupt, "vault: backup is damaged", "backup is damaged"},
		{"no package", usererr.New("", "choose a channel"), "choose a channel", "choose a channel"},
		{"wrapped sentinel", usererr.Errorf("", "%w: %v", errCorrupt, io.ErrUnexpectedEOF),
			"vault: backup is damaged: unexpected EOF", "backup is damaged: unexpected EOF"},
		{"two packages", usererr.Errorf("updateflow", "upload slot %d: %w", 1, usererr.Errorf("smp", "write: %w", errCorrupt)),
			"updateflow: upload slot 1: smp: write: vault: backup is damaged", "upload slot 1: write: backup is damaged"},
		{"text that reads like a prefix", usererr.Errorf("vault", "the backup holds keys: %s, link: %s", "a", "b"),
			"vault: the backup holds keys: a, link: b", "the backup holds keys: a, link: b"},
		{"error as %v", usererr.Errorf("keys", "parse: %v", errCorrupt), "keys: parse: vault: backup is damaged", "parse: backup is damaged"},
		{"own type", usererr.Errorf("fwupdate", "%w", &boardError{3}), "fwupdate: smp: board said 3", "board said 3"},
		{"foreign error", usererr.Errorf("bundle", "open: %w", plain),
			"bundle: open: age: no identity matched any of the recipients", "open: age: no identity matched any of the recipients"},
		{"not a Messager", fmt.Errorf("context: %w", errCorrupt), "context: vault: backup is damaged", "context: vault: backup is damaged"},
		{"nil", nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err != nil {
				if got := tt.err.Error(); got != tt.error {
					t.Errorf("Error() = %q, want %q", got, tt.error)
				}
			}
			if got := usererr.Message(tt.err); got != tt.people {
				t.Errorf("Message = %q, want %q", got, tt.people)
			}
		})
	}
}

func TestWrapping(t *testing.T) {
	inner := &boardError{7}
	err := usererr.Errorf("fwupdate", "%w after %w", errCorrupt, inner)
	if !errors.Is(err, errCorrupt) {
		t.Error("errors.Is does not find the first wrapped error")
	}
	var be *boardError
	if !errors.As(err, &be) || be != inner {
		t.Error("errors.As does not find the second wrapped error")
	}
	if errors.Is(usererr.Errorf("vault", "parse: %v", errCorrupt), errCorrupt) {
		t.Error("an error formatted with a v verb is wrapped; only w wraps")
	}
	var m usererr.Messager
	if !errors.As(fmt.Errorf("x: %w", err), &m) || m != err {
		t.Error("errors.As does not find the Messager in a chain")
	}
}

func ExampleMessage() {
	errDamaged := usererr.New("vault", "backup is damaged")
	err := usererr.Errorf("keys", "import %q: %w", "ci.key", errDamaged)
	fmt.Println(err)
	fmt.Println(usererr.Message(err))
	// Output:
	// keys: import "ci.key": vault: backup is damaged
	// import "ci.key": backup is damaged
}
