package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"
)

// runToken dispatches `trustforge token create|list|revoke`, which manage
// API tokens through a server.
func runToken(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 {
		return usageErrorf("name a subcommand: create, list or revoke")
	}
	var rf remoteFlags
	switch args[0] {
	case "create":
		var user, name string
		var ttl time.Duration
		fs := newFlagSet(env, "token create", "token create [--server URL] [--token T] --name LABEL [--user NAME] [--ttl DURATION]")
		rf.register(fs)
		fs.StringVar(&name, "name", "", "what the token is for, e.g. `ci`")
		fs.StringVar(&user, "user", "", "issue it for this `account` (admins only; default: yourself)")
		fs.DurationVar(&ttl, "ttl", 0, "lifetime, e.g. 720h (default: until revoked)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if name == "" {
			return usageErrorf("--name is required")
		}
		c, err := rf.client()
		if err != nil {
			return err
		}
		var exp time.Time
		if ttl > 0 {
			exp = time.Now().Add(ttl)
		}
		tk, err := c.CreateToken(ctx, user, name, exp)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "token %s for %s (%s); it is shown only now:\n", tk.ID, tk.User, tk.Name)
		fmt.Fprintln(env.Stdout, tk.Secret)
		return nil
	case "list":
		fs := newFlagSet(env, "token list", "token list [--server URL] [--token T]")
		rf.register(fs)
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		c, err := rf.client()
		if err != nil {
			return err
		}
		ts, err := c.Tokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSER\tNAME\tCREATED\tEXPIRES")
		for _, t := range ts {
			exp := "never"
			if t.Expires != nil {
				exp = t.Expires.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.User, t.Name, t.Created.Format(time.RFC3339), exp)
		}
		return tw.Flush()
	case "revoke":
		fs := newFlagSet(env, "token revoke", "token revoke [--server URL] [--token T] ID")
		rf.register(fs)
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usageErrorf("name one token ID")
		}
		c, err := rf.client()
		if err != nil {
			return err
		}
		return c.RevokeToken(ctx, fs.Arg(0))
	}
	return usageErrorf("unknown subcommand %q: want create, list or revoke", args[0])
}
