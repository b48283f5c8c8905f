package vault

import (
	"context"
	"testing"
)

// FuzzImport feeds outside bytes to Import, as a dropped file reaches it.
func FuzzImport(f *testing.F) {
	for _, name := range []string{"ecdsa-p256.pem", "ed25519.pem", "x25519-enc.pem", "ed25519-pub.pem", "rsa.pem"} {
		b, err := readTestdata(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"))
	ctx := context.Background()
	v, err := Create(ctx, newMemStore(), pass, testOpts)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := v.Import(ctx, data, "fuzz")
		if err != nil {
			return
		}
		if _, err := v.Key(ctx, info.ID); err != nil {
			t.Fatalf("imported key does not unseal: %v", err)
		}
		v.Delete(ctx, info.ID)
	})
}

// FuzzInspectBackup feeds outside bytes to the backup reader, as a chosen
// backup file reaches it.
func FuzzInspectBackup(f *testing.F) {
	ctx := context.Background()
	v, err := Create(ctx, newMemStore(), pass, testOpts)
	if err != nil {
		f.Fatal(err)
	}
	v.Generate(ctx, Ed25519, "a")
	v.Generate(ctx, AgeX25519, "b")
	b, err := v.Backup(ctx, pass)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add([]byte("age-encryption.org/v1\n-> scrypt AAAA 4\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		InspectBackup(data, pass)
	})
}

// FuzzOpen feeds damaged stores to Open and List.
func FuzzOpen(f *testing.F) {
	ctx := context.Background()
	st := newMemStore()
	v, _ := Create(ctx, st, pass, testOpts)
	info, _ := v.Generate(ctx, Ed25519, "a")
	hdr, _, _ := st.Get(ctx, headerKey)
	rec, _, _ := st.Get(ctx, keyPrefix+info.ID)
	f.Add(hdr, rec)
	f.Fuzz(func(t *testing.T, hdr, rec []byte) {
		st := newMemStore()
		st.Put(ctx, headerKey, hdr)
		st.Put(ctx, keyPrefix+info.ID, rec)
		v, err := Open(ctx, st, testOpts)
		if err != nil {
			return
		}
		v.List(ctx)
		if v.Unlock(ctx, pass) == nil {
			v.Key(ctx, info.ID)
		}
	})
}
