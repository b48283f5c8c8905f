package e2e

import (
	"context"
	"testing"

	"trustforge/e2e/driver"
)

// TestSignInWaitsOutTheLimit: the server refuses a sixth sign-in of one
// account from one address within seconds (auth.SignInPolicy's burst of
// five); the driver a production line uses waits the time the console
// shows and signs in, and the refused request is no page error.
func TestSignInWaitsOutTheLimit(t *testing.T) {
	const name, pass = "rita", "rita's password 1"
	if err := env.accounts.createUser(context.Background(), name, "engineer", pass); err != nil {
		t.Fatal(err)
	}
	waited := 0
	for i := range 6 {
		ctx, _ := newTab(t)
		waits, err := driver.SignInCounting(ctx, env.server.URL+"/signin?next=/keys", name, pass)
		if err != nil {
			t.Fatalf("sign-in %d: %v", i+1, err)
		}
		waitFor(t, ctx, `#nav-keys[aria-current="page"]`)
		waited += waits
	}
	if waited == 0 {
		t.Fatal("six sign-ins in a row were never limited: the test no longer provokes the limit")
	}
}
