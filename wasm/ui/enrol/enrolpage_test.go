package enrol

import "testing"

func TestEnrolToken(t *testing.T) {
	tests := map[string]string{
		"token=tfe_abc-_9":       "tfe_abc-_9",
		"token=tfe_abc&x=1":      "tfe_abc",
		"":                       "",
		"tfe_abc":                "",
		"token=%zz":              "",
		"other=1&token=tfe_xyz ": "tfe_xyz",
	}
	for in, want := range tests {
		if got := enrolToken(in); got != want {
			t.Errorf("enrolToken(%q) = %q, want %q", in, got, want)
		}
	}
}
