package state

import "context"

// admins caches the administrators' names for the signed-in account.
type admins struct {
	user  string // whose session asked; "" before any
	names []string
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

// LoadAdmins asks the server, once per signed-in account, who administers
// it: whom the console tells people to ask. A failure (no network) is
// remembered as "not known", so pages fall back to "an administrator"
// without asking again.
func (a *App) LoadAdmins(ctx context.Context) {
	s, ok := a.Session()
	if !ok {
		return
	}
	a.mu.Lock()
	if a.admins.user == s.User {
		a.mu.Unlock()
		return
	}
	a.admins = admins{user: s.User}
	a.mu.Unlock()
	names, err := a.API.Admins(ctx)
	if err != nil {
		return
	}
	a.mu.Lock()
	if a.admins.user == s.User {
		a.admins.names = names
	}
	a.mu.Unlock()
	a.notify()
}
