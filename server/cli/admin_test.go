package cli

import (
	"bytes"
	"context"
	"io"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"trustforge/crypto/audit"
	"trustforge/server/api"
	"trustforge/server/store"
)

// Finding 12: admin token and admin enrol, run against a server's data
// directory, recorded audit entries with an empty actor.
func TestAdminCommandsRecordTheOperator(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv, err := api.Open(ctx, api.Config{DataDir: dir, Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	st, err := store.OpenSQLite(ctx, api.DatabasePath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, store.User{Name: "ci-bot", Roles: store.Roles{store.RoleEngineer}, Created: time.Now()}, audit.Event{}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	for _, args := range [][]string{
		{"admin", "token", "--data", dir, "--user", "ci-bot", "--name", "ci"},
		{"admin", "enrol", "--data", dir, "--base", "https://tf.example"},
	} {
		var out, errOut bytes.Buffer
		if code := Run(ctx, args, Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut.String())
		}
	}
	u, err := user.Current()
	if err != nil {
		t.Skip("no current OS user to compare with:", err)
	}
	st, err = store.OpenSQLite(ctx, filepath.Join(dir, "trustforge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got := map[string]audit.Entry{}
	st.AuditEntries(ctx, 0, func(e audit.Entry) error { got[e.Action] = e; return nil })
	for _, action := range []string{"token.create", "enrolment.issue"} {
		e := got[action]
		if e.Actor != "os:"+u.Username || !strings.HasPrefix(e.Detail["via"], "command line") {
			t.Errorf("%s: actor %q via %q, want os:%s from the command line", action, e.Actor, e.Detail["via"], u.Username)
		}
	}
}
