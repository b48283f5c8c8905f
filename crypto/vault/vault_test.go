package vault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"trustforge/crypto/keys"
)

// testOpts makes scrypt cheap: the tests check the logic, not the cost.
var testOpts = Options{WorkFactor: 4, Now: func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }}

const pass = "correct horse battery"

func newVault(t *testing.T) (*Vault, *memStore) {
	t.Helper()
	st := newMemStore()
	v, err := Create(context.Background(), st, pass, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	return v, st
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCreateOpenUnlock(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	if _, err := Open(ctx, st, testOpts); !errors.Is(err, ErrNoVault) {
		t.Fatalf("Open on an empty store: err = %v, want ErrNoVault", err)
	}
	if _, err := Create(ctx, st, "short", testOpts); !errors.Is(err, ErrWeakPassphrase) {
		t.Fatalf("Create with a short passphrase: err = %v, want ErrWeakPassphrase", err)
	}
	v, err := Create(ctx, st, pass, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if v.Locked() {
		t.Error("a new vault is locked")
	}
	info, err := v.Generate(ctx, Ed25519, "release key")
	if err != nil {
		t.Fatal(err)
	}
	before := st.snapshot()
	if _, err := Create(ctx, st, pass, testOpts); !errors.Is(err, ErrExists) {
		t.Errorf("second Create: err = %v, want ErrExists", err)
	}
	if got := st.snapshot(); !maps.Equal(got, before) {
		t.Error("a refused Create changed the store")
	}

	// A reload: the vault is opened again from the store, locked.
	v2, err := Open(ctx, st, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if !v2.Locked() {
		t.Fatal("a reopened vault is unlocked")
	}
	list, err := v2.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0] != info {
		t.Errorf("locked List = %+v, want [%+v]", list, info)
	}
	if _, err := v2.Key(ctx, info.ID); !errors.Is(err, ErrLocked) {
		t.Errorf("Key while locked: err = %v, want ErrLocked", err)
	}
	if _, err := v2.Generate(ctx, Ed25519, ""); !errors.Is(err, ErrLocked) {
		t.Errorf("Generate while locked: err = %v, want ErrLocked", err)
	}
	if err := v2.Unlock(ctx, "wrong horse battery"); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("Unlock with a wrong passphrase: err = %v, want ErrWrongPassphrase", err)
	}
	if !v2.Locked() {
		t.Error("a wrong passphrase unlocked the vault")
	}
	if err := v2.Unlock(ctx, pass); err != nil {
		t.Fatal(err)
	}
	k, err := v2.Key(ctx, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := k.Private()
	if err != nil {
		t.Fatal(err)
	}
	if priv.Algorithm() != keys.Ed25519 {
		t.Errorf("algorithm %s, want ed25519", priv.Algorithm())
	}
	v2.Lock()
	if _, err := v2.Key(ctx, info.ID); !errors.Is(err, ErrLocked) {
		t.Errorf("Key after Lock: err = %v, want ErrLocked", err)
	}
}

func TestGenerateEachAlgorithm(t *testing.T) {
	ctx := context.Background()
	v, _ := newVault(t)
	for _, alg := range Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			info, err := v.Generate(ctx, alg, "  "+string(alg)+" key ")
			if err != nil {
				t.Fatal(err)
			}
			if info.Algorithm != alg || info.Name != string(alg)+" key" {
				t.Errorf("info = %+v", info)
			}
			k, err := v.Key(ctx, info.ID)
			if err != nil {
				t.Fatal(err)
			}
			if alg.IsAge() {
				id, err := k.Identity()
				if err != nil {
					t.Fatal(err)
				}
				if got := id.Recipient().String(); got != info.Public {
					t.Errorf("recipient %s, record says %s", got, info.Public)
				}
				sum := sha256.Sum256([]byte(info.Public))
				if info.ID != hex.EncodeToString(sum[:]) {
					t.Errorf("ID %s is not the SHA-256 of the recipient", info.ID)
				}
				if _, err := k.Private(); !errors.Is(err, ErrWrongKind) {
					t.Errorf("Private of an age identity: err = %v, want ErrWrongKind", err)
				}
				return
			}
			priv, err := k.Private()
			if err != nil {
				t.Fatal(err)
			}
			pub, err := info.PublicKey()
			if err != nil {
				t.Fatal(err)
			}
			if !priv.Public().Equal(pub) {
				t.Error("the private key does not match the record's public key")
			}
			// The ID is MCUboot's KEYHASH: SHA-256 of the SPKI DER.
			sum := sha256.Sum256(pub.SPKI())
			if info.ID != hex.EncodeToString(sum[:]) {
				t.Errorf("ID %s is not the key hash %x", info.ID, sum)
			}
			if _, err := k.Identity(); !errors.Is(err, ErrWrongKind) {
				t.Errorf("Identity of a %s key: err = %v, want ErrWrongKind", alg, err)
			}
		})
	}
	if _, err := v.Generate(ctx, "rsa-2048", ""); !errors.Is(err, ErrWrongKind) {
		t.Errorf("Generate rsa: err = %v, want ErrWrongKind", err)
	}
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	ageID, _ := age.GenerateX25519Identity()
	tests := []struct {
		name    string
		data    []byte
		wantAlg Algorithm
		wantErr error
	}{
		{"imgtool ecdsa-p256", readFile(t, "ecdsa-p256.pem"), ECDSAP256, nil},
		{"imgtool ed25519", readFile(t, "ed25519.pem"), Ed25519, nil},
		{"imgtool x25519", readFile(t, "x25519-enc.pem"), X25519, nil},
		{"age identity", []byte("# created by age-keygen\n" + ageID.String() + "\n")[len("# created by age-keygen\n"):], AgeX25519, nil},
		{"public key", readFile(t, "ed25519-pub.pem"), "", ErrWrongKind},
		{"password-protected key", readFile(t, "ed25519-encrypted.pem"), "", ErrWrongKind},
		{"rsa key", readFile(t, "rsa.pem"), "", ErrWrongKind},
		{"p-384 key", readFile(t, "p384.pem"), "", ErrWrongKind},
		{"age recipient", []byte(ageID.Recipient().String()), "", ErrWrongKind},
		{"garbage", []byte("hello"), "", ErrWrongKind},
		{"empty", nil, "", ErrWrongKind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, st := newVault(t)
			before := st.snapshot()
			info, err := v.Import(ctx, tt.data, "imported")
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if !maps.Equal(st.snapshot(), before) {
					t.Error("a refused import changed the store")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.Algorithm != tt.wantAlg {
				t.Errorf("algorithm %s, want %s", info.Algorithm, tt.wantAlg)
			}
			// Importing the same key again is refused and changes nothing.
			snap := st.snapshot()
			if _, err := v.Import(ctx, tt.data, "again"); !errors.Is(err, ErrExists) {
				t.Errorf("second import: err = %v, want ErrExists", err)
			}
			if !maps.Equal(st.snapshot(), snap) {
				t.Error("a refused second import changed the store")
			}
			got, err := v.Info(ctx, info.ID)
			if err != nil || got.Name != "imported" {
				t.Errorf("Info = %+v, %v; want the first import kept", got, err)
			}
		})
	}
}

func TestImportedKeyKeepsImgtoolEncoding(t *testing.T) {
	ctx := context.Background()
	v, _ := newVault(t)
	pemKey := readFile(t, "ed25519.pem")
	info, err := v.Import(ctx, pemKey, "imgtool")
	if err != nil {
		t.Fatal(err)
	}
	k, err := v.Key(ctx, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := keys.ParsePrivateKey(pemKey)
	got, _ := k.Private()
	if !got.Equal(want) {
		t.Error("the unsealed key differs from the imported one")
	}
	if info.Public != string(readFile(t, "ed25519-pub.pem")) {
		t.Errorf("public PEM:\n%s\nwant imgtool's:\n%s", info.Public, readFile(t, "ed25519-pub.pem"))
	}
}

func TestTamperedRecordsAreRefused(t *testing.T) {
	ctx := context.Background()
	v, st := newVault(t)
	a, _ := v.Generate(ctx, Ed25519, "a")
	b, _ := v.Generate(ctx, Ed25519, "b")
	// Swap b's sealed key into a's record.
	ra, _ := v.record(ctx, a.ID)
	rb, _ := v.record(ctx, b.ID)
	ra.Sealed = rb.Sealed
	if err := v.putJSON(ctx, keyPrefix+a.ID, ra); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Key(ctx, a.ID); !errors.Is(err, ErrCorrupt) {
		t.Errorf("swapped sealed key: err = %v, want ErrCorrupt", err)
	}
	// A record whose public half was replaced.
	rb.Info.Name = "b"
	other, _ := keys.Generate(nil, keys.Ed25519)
	rb.Info.Public = string(other.Public().MarshalPEM())
	v.putJSON(ctx, keyPrefix+b.ID, rb)
	if _, err := v.Key(ctx, b.ID); !errors.Is(err, ErrCorrupt) {
		t.Errorf("replaced public key: err = %v, want ErrCorrupt", err)
	}
	// Garbage in the store.
	st.Put(ctx, keyPrefix+"ff", []byte("{"))
	if _, err := v.List(ctx); !errors.Is(err, ErrCorrupt) {
		t.Errorf("List over a garbage record: err = %v, want ErrCorrupt", err)
	}
	st.Put(ctx, headerKey, []byte(`{"format":1}`))
	if _, err := Open(ctx, st, testOpts); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Open with a damaged header: err = %v, want ErrCorrupt", err)
	}
}

func TestChangePassphrase(t *testing.T) {
	ctx := context.Background()
	v, st := newVault(t)
	info, _ := v.Generate(ctx, ECDSAP256, "k")
	if err := v.ChangePassphrase(ctx, "not the passphrase", "new passphrase 1"); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("err = %v, want ErrWrongPassphrase", err)
	}
	if err := v.ChangePassphrase(ctx, pass, "new passphrase 1"); err != nil {
		t.Fatal(err)
	}
	v2, _ := Open(ctx, st, testOpts)
	if err := v2.Unlock(ctx, pass); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("old passphrase: err = %v, want ErrWrongPassphrase", err)
	}
	if err := v2.Unlock(ctx, "new passphrase 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := v2.Key(ctx, info.ID); err != nil {
		t.Error(err)
	}
}

func TestDelete(t *testing.T) {
	ctx := context.Background()
	v, _ := newVault(t)
	info, _ := v.Generate(ctx, X25519, "device")
	v.Lock()
	if err := v.Delete(ctx, info.ID); !errors.Is(err, ErrLocked) {
		t.Errorf("Delete while locked: err = %v, want ErrLocked", err)
	}
	v.Unlock(ctx, pass)
	if err := v.Delete(ctx, info.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Info(ctx, info.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Info after Delete: err = %v, want ErrNotFound", err)
	}
	if err := v.Delete(ctx, info.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete: err = %v, want ErrNotFound", err)
	}
}

func TestStoreFailureLosesNothing(t *testing.T) {
	ctx := context.Background()
	v, st := newVault(t)
	v.Generate(ctx, Ed25519, "kept")
	before := st.snapshot()
	st.failPuts = true
	if _, err := v.Generate(ctx, Ed25519, "lost"); err == nil || !strings.Contains(err.Error(), "quota exceeded") {
		t.Errorf("err = %v, want the store's error", err)
	}
	if !maps.Equal(st.snapshot(), before) {
		t.Error("a failed write changed the store")
	}
}

func TestNames(t *testing.T) {
	ctx := context.Background()
	v, _ := newVault(t)
	if _, err := v.Generate(ctx, Ed25519, "bad\x00name"); err == nil {
		t.Error("a name with a NUL was accepted")
	}
	if _, err := v.Generate(ctx, Ed25519, strings.Repeat("n", MaxNameLen+1)); err == nil {
		t.Error("an over-long name was accepted")
	}
	info, err := v.Generate(ctx, Ed25519, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(info.Name, "ed25519 ") {
		t.Errorf("default name %q, want one naming the algorithm", info.Name)
	}
}
