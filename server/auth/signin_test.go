package auth

import (
	"fmt"
	"testing"
	"time"
)

func TestSignInPolicy(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	p := &SignInPolicy{BackoffAfter: 3, BackoffBase: time.Second, BackoffMax: 8 * time.Second,
		PerPair: Limiter{Burst: 1000, Every: time.Millisecond}} // only the backoff limits here
	now := t0
	try := func(addr string, ok bool) bool {
		t.Helper()
		allowed, _ := p.Allow("alice", addr, now)
		if allowed {
			p.Record("alice", addr, ok, now)
		}
		return allowed
	}
	// Three failures from one address start the backoff for that address.
	for i := range 3 {
		if !try("203.0.113.1", false) {
			t.Fatalf("failure %d refused before the backoff", i+1)
		}
	}
	if try("203.0.113.1", false) {
		t.Error("the failing address was not backed off")
	}
	// A fresh address is not held back, and its success does not lift the
	// other's backoff.
	if !try("198.51.100.7", true) {
		t.Error("a fresh address was held back by another's failures")
	}
	if try("203.0.113.1", false) {
		t.Error("another address's success lifted the backoff")
	}
	// The delay doubles with each failure, up to BackoffMax.
	var delays []time.Duration
	for range 6 {
		wait := p.backoff("alice", "203.0.113.1", now)
		delays = append(delays, wait)
		now = now.Add(wait)
		if !try("203.0.113.1", false) {
			t.Fatalf("refused once the backoff of %v had passed", wait)
		}
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second, 8 * time.Second}
	for i := range want {
		if delays[i] != want[i] {
			t.Errorf("backoff delays %v, want %v", delays, want)
			break
		}
	}
	// Forgotten after an hour without failures.
	now = now.Add(2 * time.Hour)
	if !try("203.0.113.1", true) {
		t.Error("still backed off after the record expired")
	}
}

func TestSignInPolicyBounded(t *testing.T) {
	p := &SignInPolicy{MaxUsers: 50, MaxAddrs: 4}
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for i := range 500 {
		user := fmt.Sprint("user", i)
		for j := range 10 {
			addr := fmt.Sprintf("10.0.%d.%d", i%250, j)
			p.Record(user, addr, false, now)
		}
		now = now.Add(time.Millisecond)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.users) > 50 {
		t.Errorf("%d accounts remembered, want at most 50", len(p.users))
	}
	for u, f := range p.users {
		if len(f.addrs) > 4 {
			t.Errorf("%s: %d addresses remembered, want at most 4", u, len(f.addrs))
		}
	}
}
