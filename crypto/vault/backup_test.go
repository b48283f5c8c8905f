package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"testing"

	"filippo.io/age"
)

func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	src, _ := newVault(t)
	var want []Info
	for _, alg := range Algorithms() {
		info, err := src.Generate(ctx, alg, "k "+string(alg))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, info)
	}
	imported, err := src.Import(ctx, readFile(t, "ecdsa-p256.pem"), "imgtool p256")
	if err != nil {
		t.Fatal(err)
	}
	backup, err := src.Backup(ctx, "backup passphrase")
	if err != nil {
		t.Fatal(err)
	}

	// The backup is a plain age file holding imgtool's PEM.
	id, _ := age.NewScryptIdentity("backup passphrase")
	r, err := age.Decrypt(bytes.NewReader(backup), id)
	if err != nil {
		t.Fatalf("age cannot open the backup: %v", err)
	}
	plain, _ := io.ReadAll(r)
	var doc backupDoc
	if err := json.Unmarshal(plain, &doc); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, k := range doc.Keys {
		if k.Private == string(readFile(t, "ecdsa-p256.pem")) {
			found = true
		}
	}
	if !found {
		t.Error("the backup does not hold the imported key as imgtool's PEM")
	}

	dst, dstStore := newVault(t)
	// A wrong passphrase changes nothing.
	before := dstStore.snapshot()
	if _, err := dst.Restore(ctx, backup, "wrong passphrase"); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("err = %v, want ErrWrongPassphrase", err)
	}
	if !maps.Equal(dstStore.snapshot(), before) {
		t.Error("a refused restore changed the vault")
	}
	infos, err := InspectBackup(backup, "backup passphrase")
	if err != nil || len(infos) != len(want)+1 {
		t.Fatalf("InspectBackup = %d keys, %v", len(infos), err)
	}
	res, err := dst.Restore(ctx, backup, "backup passphrase")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Added) != len(want)+1 || len(res.Skipped) != 0 {
		t.Errorf("added %d, skipped %d; want %d and 0", len(res.Added), len(res.Skipped), len(want)+1)
	}
	for _, w := range append(want, imported) {
		got, err := dst.Info(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got != w {
			t.Errorf("restored %+v, want %+v", got, w)
		}
		ks, _ := src.Key(ctx, w.ID)
		kd, err := dst.Key(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := ks.s.marshal()
		b, _ := kd.s.marshal()
		if !bytes.Equal(a, b) {
			t.Errorf("key %s differs after restore", w.Name)
		}
	}
	// Restoring again skips every key.
	res, err = dst.Restore(ctx, backup, "backup passphrase")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Added) != 0 || len(res.Skipped) != len(want)+1 {
		t.Errorf("second restore added %d, skipped %d", len(res.Added), len(res.Skipped))
	}
}

func TestRestoreRefusesDamagedBackups(t *testing.T) {
	ctx := context.Background()
	src, _ := newVault(t)
	src.Generate(ctx, Ed25519, "a")
	src.Generate(ctx, AgeX25519, "b")
	backup, err := src.Backup(ctx, "backup passphrase")
	if err != nil {
		t.Fatal(err)
	}
	dst, st := newVault(t)
	dst.Generate(ctx, ECDSAP256, "mine")
	before := st.snapshot()

	// Every truncation, and every flipped byte of the header and the
	// last chunk, is refused and leaves the vault as it was.
	var bad [][]byte
	for n := 0; n < len(backup); n++ {
		bad = append(bad, backup[:n])
	}
	for _, i := range []int{0, 10, 40, 80, len(backup) - 20, len(backup) - 1} {
		b := bytes.Clone(backup)
		b[i] ^= 0x40
		bad = append(bad, b)
	}
	for i, b := range bad {
		_, err := dst.Restore(ctx, b, "backup passphrase")
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrWrongPassphrase) {
			t.Fatalf("damaged backup %d (%d bytes): err = %v, want ErrCorrupt", i, len(b), err)
		}
	}
	if !maps.Equal(st.snapshot(), before) {
		t.Error("a refused restore changed the vault")
	}
}

func TestRestoreRefusesForeignFiles(t *testing.T) {
	ctx := context.Background()
	dst, st := newVault(t)
	before := st.snapshot()
	sealDoc := func(doc string) []byte {
		b, err := sealPassphrase(context.Background(), doc, "backup passphrase", 4, nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	x, _ := age.GenerateX25519Identity()
	toKey, _ := seal([]byte("{}"), x.Recipient())
	pem := string(readFile(t, "ed25519.pem"))
	tests := []struct {
		name string
		data []byte
	}{
		{"not age", []byte("PK\x03\x04 a zip file")},
		{"age to a key", toKey},
		{"not json", sealDoc("hello")},
		{"other format", sealDoc(`{"format":"other","created":"2026-01-01T00:00:00Z","keys":[]}`)},
		{"unknown field", sealDoc(`{"format":"` + BackupFormat + `","created":"2026-01-01T00:00:00Z","keys":[],"extra":1}`)},
		{"public key inside", sealDoc(`{"format":"` + BackupFormat + `","created":"2026-01-01T00:00:00Z","keys":[{"name":"x","algorithm":"ed25519","created":"2026-01-01T00:00:00Z","private":` + jsonString(string(readFile(t, "ed25519-pub.pem"))) + `}]}`)},
		{"algorithm mismatch", sealDoc(`{"format":"` + BackupFormat + `","created":"2026-01-01T00:00:00Z","keys":[{"name":"x","algorithm":"x25519","created":"2026-01-01T00:00:00Z","private":` + jsonString(pem) + `}]}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := dst.Restore(ctx, tt.data, "backup passphrase"); !errors.Is(err, ErrCorrupt) {
				t.Errorf("err = %v, want ErrCorrupt", err)
			}
			if !maps.Equal(st.snapshot(), before) {
				t.Error("a refused restore changed the vault")
			}
		})
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestBackupNeedsUnlockedVault(t *testing.T) {
	ctx := context.Background()
	v, _ := newVault(t)
	v.Generate(ctx, Ed25519, "a")
	if _, err := v.Backup(ctx, "short"); !errors.Is(err, ErrWeakPassphrase) {
		t.Errorf("short backup passphrase: err = %v, want ErrWeakPassphrase", err)
	}
	v.Lock()
	if _, err := v.Backup(ctx, "backup passphrase"); !errors.Is(err, ErrLocked) {
		t.Errorf("Backup while locked: err = %v, want ErrLocked", err)
	}
	if _, err := v.Restore(ctx, nil, "backup passphrase"); !errors.Is(err, ErrLocked) {
		t.Errorf("Restore while locked: err = %v, want ErrLocked", err)
	}
}
