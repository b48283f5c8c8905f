package api

import (
	"context"
	"crypto/sha256"
	"os"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7/pkg/credentials"

	"trustforge/internal/testsvc"
	"trustforge/server/blob"
	"trustforge/server/store"
)

func TestMain(m *testing.M) { testsvc.Main(m) }

// With TRUSTFORGE_API_SCALED=1 every API test runs against the
// scaled-out back end: PostgreSQL and an S3 bucket (a fresh pair per data
// directory, the same pair when a test reopens its directory), as `make
// test-scaled` runs them.
var scaled = os.Getenv("TRUSTFORGE_API_SCALED") != ""

var (
	scaledMu   sync.Mutex
	scaledDirs = map[string]scaledBackend{}
)

type scaledBackend struct {
	db     string
	bucket testsvc.S3Bucket
}

// useScaled points cfg at the PostgreSQL database and bucket that stand
// for data directory dir.
func useScaled(t testing.TB, dir string, cfg *Config) {
	t.Helper()
	scaledMu.Lock()
	b, ok := scaledDirs[dir]
	if !ok {
		b = scaledBackend{db: testsvc.PostgresURL(t), bucket: testsvc.S3(t)}
		scaledDirs[dir] = b
	}
	scaledMu.Unlock()
	ctx := context.Background()
	st, err := store.OpenPostgres(ctx, b.db)
	if err != nil {
		t.Fatal(err)
	}
	c, err := blob.ParseS3URL(b.bucket.URL("blobs"))
	if err != nil {
		t.Fatal(err)
	}
	c.Creds = credentials.NewStaticV4(b.bucket.AccessKey, b.bucket.SecretKey, "")
	bs, err := blob.OpenS3(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	key := sha256.Sum256([]byte(dir))
	cfg.Store, cfg.Blobs, cfg.SecretKey = st, bs, key[:]
}
