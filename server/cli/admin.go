package cli

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"time"

	"trustforge/crypto/audit"
	"trustforge/server/api"
	"trustforge/server/store"
)

// runAdmin dispatches `trustforge admin token|enrol`: what an operator with
// access to the server's data directory does without signing in.
func runAdmin(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 {
		return usageErrorf("name a subcommand: token or enrol")
	}
	var dataDir string
	switch args[0] {
	case "token":
		var user, name string
		fs := newFlagSet(env, "admin token", "admin token --data DIR --user NAME --name LABEL")
		fs.StringVar(&dataDir, "data", "data", "the server's data `directory`")
		fs.StringVar(&user, "user", "", "the `account` the token acts as")
		fs.StringVar(&name, "name", "", "what the token is for, e.g. `ci`")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if user == "" || name == "" {
			return usageErrorf("--user and --name are required")
		}
		st, err := openDataStore(ctx, dataDir)
		if err != nil {
			return err
		}
		defer st.Close()
		if _, err := st.User(ctx, user); err != nil {
			return err
		}
		now := time.Now()
		tk, secret, err := api.NewToken(rand.Reader, user, name, now, time.Time{})
		if err != nil {
			return err
		}
		ev := audit.Event{Time: now, Actor: operator(), Action: "token.create", Subject: tk.ID,
			Detail: map[string]string{"user": user, "name": name, "via": "command line: admin token"}}
		if err := st.CreateToken(ctx, tk, ev); err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "token %s for %s (%s); it is shown only now:\n", tk.ID, user, name)
		fmt.Fprintln(env.Stdout, secret)
		return nil
	case "enrol":
		var base string
		var ttl time.Duration
		var db string
		fs := newFlagSet(env, "admin enrol", "admin enrol (--data DIR | --db postgres://…) --base URL [--ttl DURATION]")
		fs.StringVar(&dataDir, "data", "data", "the server's data `directory`")
		fs.StringVar(&db, "db", "", "the servers' shared database (`URL` postgres://…) instead of --data")
		fs.StringVar(&base, "base", "http://127.0.0.1:8080", "the console's `URL` as users reach it")
		fs.DurationVar(&ttl, "ttl", time.Hour, "how long the link stays valid")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		var st store.Store
		var err error
		if db != "" {
			st, err = openDB(ctx, db)
		} else {
			st, err = openDataStore(ctx, dataDir)
		}
		if err != nil {
			return err
		}
		defer st.Close()
		link, err := api.IssueEnrolment(ctx, st, base, rand.Reader, time.Now(), ttl, operator(), "command line: admin enrol")
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "one-time link to create an administrator, valid for %v:\n", ttl)
		fmt.Fprintln(env.Stdout, link)
		return nil
	}
	return usageErrorf("unknown subcommand %q: want token or enrol", args[0])
}

// operator names who runs an admin command, for its audit entry: the
// operating-system account, marked as such ("os:alice"), since no
// trustforge account signed in.
func operator() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "os:" + u.Username
	}
	return "os:uid-" + strconv.Itoa(os.Getuid())
}

// openDataStore opens the metadata store of an existing data directory; it
// refuses a directory without one rather than create an empty store there.
func openDataStore(ctx context.Context, dataDir string) (*store.SQLite, error) {
	path := api.DatabasePath(dataDir)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no trustforge data in %s: %w", dataDir, err)
	}
	return store.OpenSQLite(ctx, path)
}
