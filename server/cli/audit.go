package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"trustforge/crypto/audit"
	"trustforge/server/store"
)

// runAudit dispatches `trustforge audit verify|export`.
func runAudit(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 {
		return usageErrorf("name a subcommand: verify or export")
	}
	switch args[0] {
	case "verify":
		var dataDir, db, head string
		fs := newFlagSet(env, "audit verify", "audit verify (--data DIR | --db postgres://… | EXPORT.jsonl) [--head 'SEQ HASH']")
		fs.StringVar(&dataDir, "data", "", "verify the log in this server data `directory`")
		fs.StringVar(&db, "db", "", "verify the log in this shared database (`URL` postgres://…)")
		fs.StringVar(&head, "head", "", "a head recorded earlier (`SEQ HASH`) the log must still contain")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if n := btoi(dataDir != "") + btoi(db != "") + fs.NArg(); n != 1 {
			return usageErrorf("give --data DIR, --db URL or one exported log file")
		}
		var got audit.Head
		if db != "" {
			st, err := openDB(ctx, db)
			if err != nil {
				return err
			}
			defer st.Close()
			if got, err = store.VerifyAudit(ctx, st); err != nil {
				return err
			}
		} else if dataDir != "" {
			st, err := openDataStore(ctx, dataDir)
			if err != nil {
				return err
			}
			defer st.Close()
			if got, err = store.VerifyAudit(ctx, st); err != nil {
				return err
			}
		} else {
			f, err := os.Open(fs.Arg(0))
			if err != nil {
				return err
			}
			defer f.Close()
			if got, err = audit.Verify(f); err != nil {
				return err
			}
		}
		if head != "" {
			want, err := parseHead(head)
			if err != nil {
				return usageErrorf("--head: %v", err)
			}
			if err := audit.CheckHead(got, want); err != nil {
				return err
			}
		}
		fmt.Fprintf(env.Stdout, "audit log intact: %d entries, head %d %s\n", got.Seq, got.Seq, got.Hash)
		return nil
	case "export":
		var rf remoteFlags
		var out string
		fs := newFlagSet(env, "audit export", "audit export [--server URL] [--token T] [-o FILE]")
		rf.register(fs)
		fs.StringVar(&out, "o", "", "write to `file` instead of standard output")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		c, err := rf.client()
		if err != nil {
			return err
		}
		var head string
		export := func(w io.Writer) (err error) {
			head, err = c.ExportAudit(ctx, w)
			return err
		}
		if out != "" {
			err = writeOutput(out, 0o600, export)
		} else {
			err = export(env.Stdout)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "server head when the export began: %s\n", head)
		return nil
	}
	return usageErrorf("unknown subcommand %q: want verify or export", args[0])
}

func parseHead(s string) (audit.Head, error) {
	seq, hash, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok {
		seq, hash, ok = strings.Cut(s, ":")
	}
	if !ok {
		return audit.Head{}, fmt.Errorf("want 'SEQ HASH', got %q", s)
	}
	n, err := strconv.ParseUint(seq, 10, 64)
	if err != nil {
		return audit.Head{}, err
	}
	h, err := audit.ParseHash(strings.TrimSpace(hash))
	if err != nil {
		return audit.Head{}, err
	}
	return audit.Head{Seq: n, Hash: h}, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
