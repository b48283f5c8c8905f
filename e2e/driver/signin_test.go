package driver

import (
	"testing"
	"time"
)

func TestSignInRetry(t *testing.T) {
	tests := []struct {
		msg  string
		want time.Duration
		ok   bool
	}{
		{"The server refused: too many sign-in attempts; retry in 6s", 6 * time.Second, true},
		{"too many sign-in attempts; retry in 13s", 13 * time.Second, true},
		{"The server refused: wrong user name or password", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, ok := SignInRetry(tt.msg)
		if got != tt.want || ok != tt.ok {
			t.Errorf("SignInRetry(%q) = %v, %v; want %v, %v", tt.msg, got, ok, tt.want, tt.ok)
		}
	}
}
