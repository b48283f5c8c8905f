package vault

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"trustforge/internal/usererr"
)

// BackupFormat names the backup's plaintext format.
const BackupFormat = "trustforge-vault-backup/v1"

// MaxBackupKeys bounds the keys one backup may hold.
const MaxBackupKeys = 1024

// backupDoc is the plaintext of a backup: JSON inside an age file sealed
// with a passphrase.
type backupDoc struct {
	Format  string      `json:"format"`
	Created time.Time   `json:"created"`
	Keys    []backupKey `json:"keys"`
}

// backupKey is one key of a backup. Private is the text imgtool or
// age-keygen would write: a PKCS#8 PEM block or an AGE-SECRET-KEY line.
type backupKey struct {
	Name      string    `json:"name"`
	Algorithm Algorithm `json:"algorithm"`
	Created   time.Time `json:"created"`
	Private   string    `json:"private"`
}

// Backup returns every key of the vault as an age file encrypted to
// passphrase (scrypt, the vault's work factor). `age -d` opens it; inside
// is JSON listing each key's name, algorithm, creation time and private key
// as PEM (or an AGE-SECRET-KEY line). The vault must be unlocked.
func (v *Vault) Backup(ctx context.Context, passphrase string) ([]byte, error) {
	if len(passphrase) < MinPassphraseLen {
		return nil, usererr.Errorf("", "%w: use at least %d characters", ErrWeakPassphrase, MinPassphraseLen)
	}
	infos, err := v.List(ctx)
	if err != nil {
		return nil, err
	}
	doc := backupDoc{Format: BackupFormat, Created: v.opts.now(), Keys: []backupKey{}}
	for _, i := range infos {
		k, err := v.Key(ctx, i.ID)
		if err != nil {
			return nil, err
		}
		text, err := k.s.marshal()
		if err != nil {
			return nil, usererr.Errorf("vault", "%w", err)
		}
		doc.Keys = append(doc.Keys, backupKey{Name: i.Name, Algorithm: i.Algorithm, Created: i.Created, Private: string(text)})
	}
	plain, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, usererr.Errorf("vault", "encoding backup: %w", err)
	}
	return sealPassphrase(ctx, string(plain), passphrase, v.opts.workFactor(), v.opts.Yield)
}

// RestoreResult says what Restore did.
type RestoreResult struct {
	// Added are the keys written to the vault.
	Added []Info
	// Skipped are the keys of the backup the vault already held; they were
	// left as they were.
	Skipped []Info
}

// Restore adds the keys of a backup made by Backup. The whole backup is
// decrypted and checked before anything is written: a wrong passphrase
// gives ErrWrongPassphrase, a damaged or foreign file ErrCorrupt, and in
// both cases the vault is unchanged. Keys the vault already holds are
// skipped, never overwritten. The vault must be unlocked.
func (v *Vault) Restore(ctx context.Context, backup []byte, passphrase string) (RestoreResult, error) {
	if _, err := v.vaultKey(); err != nil {
		return RestoreResult{}, err
	}
	secrets, infos, err := readBackup(ctx, backup, passphrase, v.opts.Yield)
	if err != nil {
		return RestoreResult{}, err
	}
	var res RestoreResult
	for i, s := range secrets {
		info := infos[i]
		_, ok, err := v.st.Get(ctx, keyPrefix+info.ID)
		if err != nil {
			return res, usererr.Errorf("vault", "reading the store: %w", err)
		}
		if ok {
			res.Skipped = append(res.Skipped, info)
			continue
		}
		added, err := v.add(ctx, s, info.Name, info.Created)
		if err != nil && !errors.Is(err, ErrExists) {
			return res, err
		}
		res.Added = append(res.Added, added)
	}
	return res, nil
}

// readBackup decrypts and checks a backup without touching any vault, and
// returns the public records of its keys.
func readBackup(ctx context.Context, backup []byte, passphrase string, yield func(context.Context) error) ([]secret, []Info, error) {
	plain, err := openPassphrase(ctx, backup, passphrase, yield)
	if err != nil {
		if errors.Is(err, ErrCorrupt) {
			return nil, nil, usererr.Errorf("", "%w: this is not a trustforge vault backup (%v)", ErrCorrupt, err)
		}
		return nil, nil, err
	}
	var doc backupDoc
	if err := strictJSON(plain, &doc); err != nil {
		return nil, nil, usererr.Errorf("", "%w: backup contents: %v", ErrCorrupt, err)
	}
	if doc.Format != BackupFormat {
		return nil, nil, usererr.Errorf("", "%w: backup format %q, want %q", ErrCorrupt, doc.Format, BackupFormat)
	}
	if len(doc.Keys) > MaxBackupKeys {
		return nil, nil, usererr.Errorf("", "%w: %d keys in the backup (at most %d)", ErrCorrupt, len(doc.Keys), MaxBackupKeys)
	}
	secrets := make([]secret, 0, len(doc.Keys))
	infos := make([]Info, 0, len(doc.Keys))
	seen := map[string]bool{}
	for n, bk := range doc.Keys {
		s, err := parseSecret([]byte(bk.Private))
		if err != nil {
			return nil, nil, usererr.Errorf("", "%w: backup key %d (%q): %v", ErrCorrupt, n+1, bk.Name, err)
		}
		name, err := cleanName(bk.Name)
		if err != nil {
			return nil, nil, usererr.Errorf("", "%w: backup key %d: %v", ErrCorrupt, n+1, err)
		}
		info := s.info(name, bk.Created.UTC())
		if info.Algorithm != bk.Algorithm {
			return nil, nil, usererr.Errorf("", "%w: backup key %d (%q) says %s but holds a %s key", ErrCorrupt, n+1, bk.Name, bk.Algorithm, info.Algorithm)
		}
		if seen[info.ID] {
			continue
		}
		seen[info.ID] = true
		secrets = append(secrets, s)
		infos = append(infos, info)
	}
	return secrets, infos, nil
}

// InspectBackup decrypts and checks a backup without touching any vault,
// and returns the public records of the keys it holds.
func InspectBackup(backup []byte, passphrase string) ([]Info, error) {
	_, infos, err := readBackup(context.Background(), backup, passphrase, nil)
	return infos, err
}
