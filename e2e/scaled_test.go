package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"

	"trustforge/internal/testsvc"
)

// scaledArgs returns, with TRUSTFORGE_E2E_SCALED=1, the serve flags that put
// the suite's server on a throwaway PostgreSQL database and versitygw
// bucket (as `make test-scaled` runs it), and puts the bucket's credentials
// in the environment the server inherits; otherwise nothing.
func scaledArgs(tmp string) ([]string, error) {
	if os.Getenv("TRUSTFORGE_E2E_SCALED") == "" {
		return nil, nil
	}
	db, err := testsvc.NewPostgresURL()
	if err != nil {
		return nil, err
	}
	bucket, err := testsvc.NewS3Bucket()
	if err != nil {
		return nil, err
	}
	for _, kv := range bucket.Env() {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	key := make([]byte, 32)
	rand.Read(key)
	kf := filepath.Join(tmp, "secret.key")
	if err := os.WriteFile(kf, []byte(hex.EncodeToString(key)), 0o600); err != nil {
		return nil, err
	}
	return []string{"--db", db, "--blobs", bucket.URL("e2e"), "--secret-key-file", kf}, nil
}
