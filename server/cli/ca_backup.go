package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"trustforge/crypto/pki"
	"trustforge/crypto/vault"
)

func runCABackup(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "ca backup", "ca backup --dir DIR -o FILE.age [--backup-passphrase-file FILE]")
	var cf caFlags
	cf.register(fs)
	out := fs.String("o", "", "write the backup to `FILE` (required)")
	bpass := fs.String("backup-passphrase-file", "", "seal the backup with the passphrase in `FILE` (default: the CA passphrase)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usageErrorf("-o is required")
	}
	a, _, err := cf.open(ctx, true)
	if err != nil {
		return err
	}
	pass, err := backupPassphrase(&cf, *bpass)
	if err != nil {
		return err
	}
	b, err := a.Backup(ctx, pass, 0)
	if err != nil {
		return err
	}
	if err := writeOutput(*out, 0o600, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "backup written to %s; keep it offline, it holds the CA keys (age -d opens it)\n", *out)
	return nil
}

func backupPassphrase(cf *caFlags, file string) (string, error) {
	if file != "" {
		return readSecretFile(file)
	}
	return cf.passphrase(false)
}

func runCARestore(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "ca restore", "ca restore --dir DIR [--backup-passphrase-file FILE] BACKUP.age")
	var cf caFlags
	cf.register(fs)
	bpass := fs.String("backup-passphrase-file", "", "the backup's passphrase is in `FILE` (default: the CA passphrase)")
	work := fs.Int("scrypt-work-factor", vault.DefaultWorkFactor, "log2 of the scrypt cost of a new directory's vault")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if cf.dir == "" || len(pos) != 1 {
		return usageErrorf("give --dir and one backup file")
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	st, err := openDirStore(cf.dir, true)
	if err != nil {
		return err
	}
	var v *vault.Vault
	if ok, err := vault.Exists(ctx, st); err != nil {
		return err
	} else if ok {
		if _, v, err = cf.open(ctx, true); err != nil {
			return err
		}
	} else {
		pass, err := cf.passphrase(true)
		if err != nil {
			return err
		}
		if v, err = vault.Create(ctx, st, pass, vault.Options{WorkFactor: *work}); err != nil {
			return err
		}
	}
	pass, err := backupPassphrase(&cf, *bpass)
	if err != nil {
		return err
	}
	res, err := pki.New(st, v, pki.Options{}).Restore(ctx, data, pass)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "restored %d CAs (%d new)\n", len(res.CAs), res.Added)
	return nil
}
