package pki

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"filippo.io/age"

	"trustforge/crypto/keys"
	"trustforge/crypto/vault"
	"trustforge/internal/usererr"
)

// BackupFormat names the backup's plaintext format.
const BackupFormat = "trustforge-ca-backup/v1"

// Backup bounds.
const (
	maxBackupSize       = 64 << 20
	maxBackupWorkFactor = 22
	// DefaultBackupWorkFactor is log2 of the scrypt cost of a backup.
	DefaultBackupWorkFactor = 18
)

type backupCA struct {
	CAInfo
	Key string `json:"key"` // PKCS#8 PEM
}

type backupCRL struct {
	Issuer string `json:"issuer"`
	crlRecord
}

type backupDoc struct {
	Format   string       `json:"format"`
	Created  time.Time    `json:"created"`
	CAs      []backupCA   `json:"cas"`
	Profiles []Profile    `json:"profiles"`
	Issued   []IssuedInfo `json:"issued"`
	CRLs     []backupCRL  `json:"crls"`
}

// Backup returns the whole hierarchy as an age file encrypted to
// passphrase (scrypt, work factor 2^workFactor; zero means
// DefaultBackupWorkFactor): the CA certificates with their private keys as
// PKCS#8 PEM, the profiles, the ledger and the CRL numbers. `age -d`
// opens it. The vault must be unlocked.
func (a *Authority) Backup(ctx context.Context, passphrase string, workFactor int) ([]byte, error) {
	if len(passphrase) < vault.MinPassphraseLen {
		return nil, usererr.Errorf("", "%w: use a passphrase of at least %d characters", ErrInvalid, vault.MinPassphraseLen)
	}
	if workFactor == 0 {
		workFactor = DefaultBackupWorkFactor
	}
	if workFactor < 1 || workFactor > maxBackupWorkFactor {
		return nil, usererr.Errorf("", "%w: scrypt work factor %d", ErrInvalid, workFactor)
	}
	cas, err := a.CAs(ctx)
	if err != nil {
		return nil, err
	}
	if len(cas) == 0 {
		return nil, usererr.Errorf("", "%w: no CA to back up", ErrNotFound)
	}
	doc := backupDoc{Format: BackupFormat, Created: a.opts.now(), Profiles: []Profile{}, Issued: []IssuedInfo{}, CRLs: []backupCRL{}}
	for _, c := range cas {
		k, err := a.v.Key(ctx, c.ID)
		if err != nil {
			return nil, usererr.Errorf("pki", "the key of CA %s: %w", c.ID[:16], err)
		}
		priv, err := k.Private()
		if err != nil {
			return nil, err
		}
		pemKey, err := priv.MarshalPEM()
		if err != nil {
			return nil, err
		}
		doc.CAs = append(doc.CAs, backupCA{CAInfo: c, Key: string(pemKey)})
		issued, err := a.Issued(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		doc.Issued = append(doc.Issued, issued...)
		var cr crlRecord
		if ok, err := a.getJSON(ctx, crlPrefix+c.ID, &cr); err != nil {
			return nil, err
		} else if ok {
			doc.CRLs = append(doc.CRLs, backupCRL{Issuer: c.ID, crlRecord: cr})
		}
	}
	if doc.Profiles, err = a.Profiles(ctx); err != nil {
		return nil, err
	}
	plain, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, usererr.Errorf("pki", "encoding the backup: %w", err)
	}
	r, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return nil, usererr.Errorf("pki", "%w", err)
	}
	r.SetWorkFactor(workFactor)
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		return nil, usererr.Errorf("pki", "encrypting the backup: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return nil, usererr.Errorf("pki", "encrypting the backup: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, usererr.Errorf("pki", "encrypting the backup: %w", err)
	}
	return buf.Bytes(), nil
}

// ErrWrongPassphrase is returned by Restore when the passphrase does not
// open the backup.
var ErrWrongPassphrase = usererr.New("pki", "wrong passphrase")

// RestoreResult says what Restore did.
type RestoreResult struct {
	// CAs are the CAs the backup holds; Added says how many were new.
	CAs   []CAInfo
	Added int
}

// readBackup decrypts and checks a backup whole.
func readBackup(backup []byte, passphrase string) (*backupDoc, [][]byte, error) {
	if len(backup) > maxBackupSize {
		return nil, nil, usererr.Errorf("", "%w: backup of %d bytes", ErrMalformed, len(backup))
	}
	if !bytes.HasPrefix(backup, []byte("age-encryption.org/v1\n-> scrypt ")) {
		return nil, nil, usererr.Errorf("", "%w: not a passphrase-encrypted age file", ErrMalformed)
	}
	id, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return nil, nil, ErrWrongPassphrase
	}
	id.SetMaxWorkFactor(maxBackupWorkFactor)
	r, err := age.Decrypt(bytes.NewReader(backup), id)
	if err != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			return nil, nil, ErrWrongPassphrase
		}
		return nil, nil, usererr.Errorf("", "%w: backup: %v", ErrMalformed, err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, maxBackupSize+1))
	if err != nil || len(plain) > maxBackupSize {
		return nil, nil, usererr.Errorf("", "%w: backup contents", ErrMalformed)
	}
	return parseBackup(plain)
}

// parseBackup reads and checks a backup's plaintext whole.
func parseBackup(plain []byte) (*backupDoc, [][]byte, error) {
	var doc backupDoc
	dec := json.NewDecoder(bytes.NewReader(plain))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, nil, usererr.Errorf("", "%w: backup contents: %v", ErrMalformed, err)
	}
	if doc.Format != BackupFormat {
		return nil, nil, usererr.Errorf("", "%w: backup format %q, want %q", ErrMalformed, doc.Format, BackupFormat)
	}
	roots := 0
	keyPEMs := make([][]byte, len(doc.CAs))
	for i, c := range doc.CAs {
		cert, err := ParseCA(c.Cert)
		if err != nil {
			return nil, nil, usererr.Errorf("", "%w: backup CA %d: %v", ErrMalformed, i+1, err)
		}
		k, err := keys.ParsePrivateKey([]byte(c.Key))
		if err != nil {
			return nil, nil, usererr.Errorf("", "%w: backup CA %d key: %v", ErrMalformed, i+1, err)
		}
		pub, err := keys.NewPublicKey(cert.PublicKey)
		if err != nil || !pub.Equal(k.Public()) || vaultID(pub) != c.ID {
			return nil, nil, usererr.Errorf("", "%w: backup CA %d: the key does not match the certificate", ErrMalformed, i+1)
		}
		if c.Kind == KindRoot {
			roots++
		} else if c.Kind != KindIntermediate {
			return nil, nil, usererr.Errorf("", "%w: backup CA %d of kind %q", ErrMalformed, i+1, c.Kind)
		}
		keyPEMs[i] = []byte(c.Key)
	}
	if roots != 1 {
		return nil, nil, usererr.Errorf("", "%w: the backup holds %d root CAs", ErrMalformed, roots)
	}
	ids := map[string]bool{}
	for _, c := range doc.CAs {
		ids[c.ID] = true
	}
	for i, r := range doc.Issued {
		s, ok := new(big.Int).SetString(r.Serial, 16)
		if !ids[r.Issuer] || !ok || s.Sign() <= 0 || serialHex(s) != r.Serial {
			return nil, nil, usererr.Errorf("", "%w: backup ledger record %d", ErrMalformed, i+1)
		}
	}
	for i, c := range doc.CRLs {
		if !ids[c.Issuer] || c.Number <= 0 {
			return nil, nil, usererr.Errorf("", "%w: backup CRL record %d", ErrMalformed, i+1)
		}
	}
	for _, p := range doc.Profiles {
		if err := p.Validate(); err != nil {
			return nil, nil, usererr.Errorf("", "%w: backup profile %q: %v", ErrMalformed, p.Product, err)
		}
	}
	return &doc, keyPEMs, nil
}

func vaultID(pub *keys.PublicKey) string {
	return strings.ToLower(fmt.Sprintf("%x", sha256Sum(pub.SPKI())))
}

// Restore adds a backup's hierarchy to this store and its keys to the
// vault. The backup is decrypted and checked whole before anything is
// written; records already present are kept. A store with a different
// root refuses it with ErrExists. The vault must be unlocked.
func (a *Authority) Restore(ctx context.Context, backup []byte, passphrase string) (RestoreResult, error) {
	doc, keyPEMs, err := readBackup(backup, passphrase)
	if err != nil {
		return RestoreResult{}, err
	}
	if a.v.Locked() {
		return RestoreResult{}, vault.ErrLocked
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range doc.CAs {
		if c.Kind != KindRoot {
			continue
		}
		if have, err := a.Root(ctx); err == nil && have.ID != c.ID {
			return RestoreResult{}, usererr.Errorf("", "%w: this console has another root CA (%s)", ErrExists, have.Name())
		} else if err != nil && !errors.Is(err, ErrNotFound) {
			return RestoreResult{}, err
		}
	}
	var res RestoreResult
	for i, c := range doc.CAs {
		if _, err := a.v.Import(ctx, keyPEMs[i], c.Kind+" CA: "+c.Product); err != nil && !errors.Is(err, vault.ErrExists) {
			return res, err
		}
		res.CAs = append(res.CAs, c.CAInfo)
		if _, ok, err := a.st.Get(ctx, caPrefix+c.ID); err != nil {
			return res, usererr.Errorf("pki", "reading the store: %w", err)
		} else if ok {
			continue
		}
		if err := a.putJSON(ctx, caPrefix+c.ID, caRecord{Format: Format, CAInfo: c.CAInfo}); err != nil {
			return res, err
		}
		res.Added++
	}
	for _, r := range doc.Issued {
		if err := a.putIfMissing(ctx, issuedPrefix+r.Issuer+"/"+r.Serial, r); err != nil {
			return res, err
		}
	}
	for _, p := range doc.Profiles {
		if err := a.putIfMissing(ctx, profilePrefix+p.Product, p); err != nil {
			return res, err
		}
	}
	for _, c := range doc.CRLs {
		var have crlRecord
		if ok, err := a.getJSON(ctx, crlPrefix+c.Issuer, &have); err != nil {
			return res, err
		} else if ok && have.Number >= c.Number {
			continue
		}
		if err := a.putJSON(ctx, crlPrefix+c.Issuer, c.crlRecord); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (a *Authority) putIfMissing(ctx context.Context, key string, x any) error {
	if _, ok, err := a.st.Get(ctx, key); err != nil {
		return usererr.Errorf("pki", "reading the store: %w", err)
	} else if ok {
		return nil
	}
	return a.putJSON(ctx, key, x)
}
