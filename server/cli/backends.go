package cli

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"trustforge/server/blob"
	"trustforge/server/store"
)

// backendFlags selects the scaled-out back ends: a PostgreSQL database and
// an S3-compatible bucket several server instances share. Credentials come
// from the environment or files, never from the command line:
// PGPASSWORD or ~/.pgpass for the database, AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY (or the URL's access_key_file and secret_key_file)
// for the bucket.
type backendFlags struct {
	db            string
	blobs         string
	secretKeyFile string
}

func (b *backendFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&b.db, "db", os.Getenv("TRUSTFORGE_DB"), "shared metadata database `URL` (postgres://…) instead of the data directory's; default $TRUSTFORGE_DB")
	fs.StringVar(&b.blobs, "blobs", os.Getenv("TRUSTFORGE_BLOBS"), "shared blob store `URL` (s3://BUCKET/PREFIX?endpoint=…) instead of the data directory's; default $TRUSTFORGE_BLOBS")
	fs.StringVar(&b.secretKeyFile, "secret-key-file", os.Getenv("TRUSTFORGE_SECRET_KEY_FILE"),
		"`file` holding the 32-byte key (64 hex digits) that seals the ticket key in a shared database; every instance uses the same; default $TRUSTFORGE_SECRET_KEY_FILE")
}

// shared reports whether the flags select the scaled-out back ends, and
// checks that they come together.
func (b *backendFlags) shared() (bool, error) {
	if b.db == "" && b.blobs == "" {
		return false, nil
	}
	if b.db == "" || b.blobs == "" {
		return false, usageErrorf("--db and --blobs go together: instances sharing a database must share the blobs too")
	}
	return true, nil
}

// openDB opens the PostgreSQL store named by --db.
func openDB(ctx context.Context, url string) (*store.Postgres, error) {
	if !strings.HasPrefix(url, "postgres://") && !strings.HasPrefix(url, "postgresql://") {
		return nil, usageErrorf("--db %q: want a postgres:// URL", redactURL(url))
	}
	return store.OpenPostgres(ctx, url)
}

// openBlobs opens the S3 store named by --blobs.
func openBlobs(ctx context.Context, url string) (*blob.S3, error) {
	c, err := blob.ParseS3URL(url)
	if err != nil {
		return nil, usageErrorf("--blobs: %v", err)
	}
	return blob.OpenS3(ctx, c)
}

// readSecretKey reads a secret key file: 64 hex digits.
func readSecretKey(path string) ([]byte, error) {
	if path == "" {
		return nil, usageErrorf("a shared database needs --secret-key-file (generate one with: head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n' > secret.key)")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) != 32 {
		return nil, errors.New("secret key: " + path + " must hold 64 hex digits (32 bytes)")
	}
	return k, nil
}

// redactURL drops a password from a URL for messages.
func redactURL(u string) string {
	if i := strings.Index(u, "@"); i >= 0 {
		if j := strings.Index(u, "://"); j >= 0 && j < i {
			return u[:j+3] + "…" + u[i:]
		}
	}
	return u
}
