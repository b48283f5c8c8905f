package cli

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"trustforge/crypto/audit"
	"trustforge/server/api"
	"trustforge/server/blob"
	"trustforge/server/store"
)

// runMigrate copies an embedded installation (a data directory's SQLite
// database, blob directory and ticket key) to a shared PostgreSQL database
// and S3 bucket, then checks the copy: every blob read back from the
// bucket has its digest, every release and package has its blob, and the
// audit chain verifies and contains the source's head. Rows and blobs the
// destination holds are left alone, so running it again changes nothing.
func runMigrate(ctx context.Context, env Env, args []string) error {
	var from string
	var to backendFlags
	fs := newFlagSet(env, "migrate", "migrate --from DATA_DIR --to postgres://… --blobs s3://… --secret-key-file F")
	fs.StringVar(&from, "from", "", "the embedded installation's data `directory` (stop its server first)")
	fs.StringVar(&to.db, "to", "", "the shared database `URL` (postgres://…); its password from PGPASSWORD or ~/.pgpass")
	fs.StringVar(&to.blobs, "blobs", "", "the shared blob store `URL` (s3://BUCKET/PREFIX?endpoint=…); credentials from the environment")
	fs.StringVar(&to.secretKeyFile, "secret-key-file", os.Getenv("TRUSTFORGE_SECRET_KEY_FILE"), "`file` of the key the instances will seal the ticket key with")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if from == "" || to.db == "" || to.blobs == "" {
		return usageErrorf("give --from DATA_DIR, --to postgres://… and --blobs s3://…")
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	key, err := readSecretKey(to.secretKeyFile)
	if err != nil {
		return err
	}
	src, err := openDataStore(ctx, from)
	if err != nil {
		return err
	}
	defer src.Close()
	srcBlobs, err := blob.OpenDir(filepath.Join(from, "blobs"))
	if err != nil {
		return err
	}
	dst, err := openDB(ctx, to.db)
	if err != nil {
		return err
	}
	defer dst.Close()
	dstBlobs, err := openBlobs(ctx, to.blobs)
	if err != nil {
		return err
	}
	srcHead, err := store.VerifyAudit(ctx, src)
	if err != nil {
		return fmt.Errorf("the source's audit chain does not verify, nothing copied: %w", err)
	}

	// Blobs first: a row that lists a blob is copied only once its blob is
	// in place.
	var copied, present int
	err = srcBlobs.Walk(ctx, func(d blob.Digest) error {
		did, err := copyBlob(ctx, srcBlobs, dstBlobs, d)
		if did {
			copied++
		} else {
			present++
		}
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "blobs: %d copied, %d already there, all read back with their digests\n", copied, present)

	if pemKey, err := os.ReadFile(filepath.Join(from, api.TicketKeyFile)); err == nil {
		same, err := api.StoreTicketKey(ctx, dst, key, pemKey, rand.Reader, time.Now())
		if err != nil {
			return err
		}
		if !same {
			return errors.New("the destination already holds a different ticket key: tickets signed by the source's key would not verify against it")
		}
		fmt.Fprintln(env.Stdout, "ticket key: sealed in the database")
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}

	st, err := src.CopyTo(ctx, dst)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "rows: %d copied, %d already there\n", st.Rows, st.Present)

	// Check the other side.
	ds, err := dst.PayloadDigests(ctx)
	if err != nil {
		return err
	}
	for _, d := range ds {
		o, err := dstBlobs.Open(ctx, blob.Digest(d))
		if err != nil {
			return fmt.Errorf("blob %s of a release or package is missing on the destination: %w", blob.Digest(d), err)
		}
		o.Close()
	}
	head, err := store.VerifyAudit(ctx, dst)
	if err != nil {
		return fmt.Errorf("the destination's audit chain does not verify: %w", err)
	}
	var at [32]byte
	found := srcHead.Seq == 0
	err = dst.AuditEntries(ctx, srcHead.Seq-min(srcHead.Seq, 1), func(e audit.Entry) error {
		if e.Seq == srcHead.Seq {
			at, found = e.Hash, true
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return err
	}
	if !found || at != srcHead.Hash {
		return fmt.Errorf("the destination's audit chain does not contain the source's head %d %s", srcHead.Seq, srcHead.Hash)
	}
	fmt.Fprintf(env.Stdout, "audit log intact on the destination: %d entries, head %d %s (source head %d)\n", head.Seq, head.Seq, head.Hash, srcHead.Seq)
	return nil
}

var errStop = errors.New("stop")

// copyBlob makes sure dst holds d with the right bytes: it copies the blob
// unless dst has it, then reads dst's copy back and checks its digest. It
// reports whether it copied.
func copyBlob(ctx context.Context, src, dst blob.Store, d blob.Digest) (bool, error) {
	copied := false
	if o, err := dst.Open(ctx, d); errors.Is(err, blob.ErrNotFound) {
		in, err := src.Open(ctx, d)
		if err != nil {
			return false, err
		}
		defer in.Close()
		w, err := dst.Create(ctx)
		if err != nil {
			return false, err
		}
		defer w.Abort()
		if _, err := io.Copy(w, in); err != nil {
			return false, fmt.Errorf("copying blob %s: %w", d, err)
		}
		if sum, _ := w.Sum(); sum != d {
			return false, fmt.Errorf("blob %s in the source directory has digest %s: the source is damaged", d, sum)
		}
		if _, err := w.Commit(ctx); err != nil {
			return false, err
		}
		copied = true
	} else if err != nil {
		return false, err
	} else {
		o.Close()
	}
	o, err := dst.Open(ctx, d)
	if err != nil {
		return copied, err
	}
	defer o.Close()
	h := sha256.New()
	if _, err := io.Copy(h, o); err != nil {
		return copied, fmt.Errorf("reading back blob %s: %w", d, err)
	}
	if blob.Digest(h.Sum(nil)) != d {
		return copied, fmt.Errorf("blob %s reads back from the destination with another digest", d)
	}
	return copied, nil
}
