package state

import (
	"context"
	"slices"
)

// admins caches the administrators' names for the signed-in account.
type admins struct {
	user  string // whose session asked; "" before any
	names []string
	asked bool // this tab asked the server (names may be remembered from an earlier visit)
}

// KnownAdmins returns the administrators' names if LoadAdmins fetched
// them for the account signed in now, and nil otherwise. It never blocks
// on the network.
func (a *App) KnownAdmins() []string {
	s, ok := a.Session()
	a.mu.Lock()
	defer a.mu.Unlock()
	if !ok || a.admins.user != s.User {
		return nil
	}
	return a.admins.names
}

// LoadAdmins asks the server, once per signed-in account and tab, who
// administers it: whom the console tells people to ask. Names remembered
// from an earlier visit stay shown until the answer replaces them. A
// failure (no network) is remembered as "not known" unless names were
// remembered, so pages fall back to "an administrator" without asking
// again.
func (a *App) LoadAdmins(ctx context.Context) {
	s, ok := a.Session()
	if !ok {
		return
	}
	a.mu.Lock()
	if a.admins.user == s.User && a.admins.asked {
		a.mu.Unlock()
		return
	}
	if a.admins.user != s.User {
		a.admins = admins{user: s.User}
	}
	a.admins.asked = true
	a.mu.Unlock()
	names, err := a.API.Admins(ctx)
	if err != nil {
		return
	}
	a.mu.Lock()
	if a.admins.user != s.User {
		a.mu.Unlock()
		return
	}
	changed := !slices.Equal(a.admins.names, names) || a.admins.names == nil
	a.admins.names = names
	m := a.memoLocked()
	a.mu.Unlock()
	if a.cfg.Memo != nil && m != nil {
		a.cfg.Memo.Save(m)
	}
	if changed {
		a.notify()
	}
}
